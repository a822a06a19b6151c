#!/usr/bin/env python3
"""gen-man.py - the cloudsteer(8) man page, made from docs/commands.md.

    scripts/gen-man.py [--version V] [--date YYYY-MM-DD] [docs/commands.md] > cloudsteer.8

Called by `make man` (tests/tests.mk), which `make install` depends on, and by
tests/e2e/man.sh and tests/e2e/units.sh. The Markdown file is written as a man
page: its first level-1 heading names the page ("cloudsteer(8)"), each
level-2 heading is a section (NAME, SYNOPSIS, ...), each level-3 heading a
subsection, deeper ones bold lines. What stands before the first section is
a note for people reading the file and is left out. Each line of the
SYNOPSIS code block becomes a synopsis line: words in bold, metavariables
(FILE, DIR) in italics. Output is man(7) roff on standard output; warnings
(no title, no NAME or SYNOPSIS) go to standard error and do not stop the page.
Markdown that this small reader does not know comes out as plain text;
tables become aligned columns, or tagged paragraphs when too wide, so the
page needs no tbl. Relative links keep their text and drop their target.
Python 3 standard library only.
"""
import datetime
import os
import re
import sys


def warn(msg):
    print("gen-man: warning: " + msg, file=sys.stderr)


# --------------------------------------------------------------------------
# Markdown blocks
#   ('heading', level, text)  ('para', [lines])  ('code', info, [lines])
#   ('list', ordered, start, [[blocks]...])  ('table', header, [rows])
#   ('quote', [blocks])  ('hr',)

FENCE = re.compile(r'^( {0,3})(`{3,}|~{3,})(.*)$')
HEADING = re.compile(r'^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$')
ITEM = re.compile(r'^( {0,3})([-*+]|\d{1,9}[.)])([ \t]+|$)(.*)$')
HR = re.compile(r'^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$')
TABLE_SEP = re.compile(r'^ {0,3}\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$')
SETEXT = re.compile(r'^ {0,3}(=+|-+)[ \t]*$')


def indent_of(line):
    return len(line) - len(line.lstrip(' '))


def split_row(line):
    """Cells of a table row: split on '|' outside code spans, '\\|' kept."""
    s = line.strip()
    cells, cur, i = [], [], 0
    if s.startswith('|'):
        i = 1
    while i < len(s):
        c = s[i]
        if c == '\\' and i + 1 < len(s) and s[i + 1] == '|':
            cur.append('|')
            i += 2
            continue
        if c == '`':
            n = len(s[i:]) - len(s[i:].lstrip('`'))
            j = s.find('`' * n, i + n)
            if j >= 0:
                cur.append(s[i:j + n].replace('\\|', '|'))
                i = j + n
                continue
            cur.append(s[i:i + n])
            i += n
            continue
        if c == '|':
            cells.append(''.join(cur).strip())
            cur = []
            i += 1
            continue
        cur.append(c)
        i += 1
    rest = ''.join(cur).strip()
    if rest or not s.endswith('|'):
        cells.append(rest)
    return cells


def is_table_start(lines, i):
    """A header row, then a delimiter row with as many cells (GFM)."""
    return ('|' in lines[i] and i + 1 < len(lines) and TABLE_SEP.match(lines[i + 1]) is not None
            and len(split_row(lines[i + 1])) == len(split_row(lines[i])))


def starts_block(lines, i):
    """Does lines[i] start a block that interrupts a paragraph?"""
    line = lines[i]
    if FENCE.match(line) or HEADING.match(line) or HR.match(line):
        return True
    if line.lstrip().startswith('>') and indent_of(line) < 4:
        return True
    if is_table_start(lines, i):
        return True
    m = ITEM.match(line)
    if m and m.group(4).strip():
        return not m.group(2)[0].isdigit() or int(m.group(2)[:-1]) == 1
    return False


def hard_strip(line):
    """Strip a paragraph line but keep a hard break (two trailing spaces)."""
    return line.strip() + ('  ' if line.endswith('  ') and line.strip() else '')


def parse_blocks(lines):
    blocks = []
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        m = FENCE.match(line)
        if m and not (m.group(2)[0] == '`' and '`' in m.group(3)):
            ind, fence, info = len(m.group(1)), m.group(2), m.group(3).strip()
            body = []
            i += 1
            while i < n:
                mm = re.match(r'^ {0,3}(`{3,}|~{3,})[ \t]*$', lines[i])
                if mm and mm.group(1)[0] == fence[0] and len(mm.group(1)) >= len(fence):
                    i += 1
                    break
                ln = lines[i]
                k = 0
                while k < ind and k < len(ln) and ln[k] == ' ':
                    k += 1
                body.append(ln[k:])
                i += 1
            blocks.append(('code', info, body))
            continue
        m = HEADING.match(line)
        if m:
            blocks.append(('heading', len(m.group(1)), (m.group(2) or '').strip()))
            i += 1
            continue
        if HR.match(line):
            blocks.append(('hr',))
            i += 1
            continue
        if is_table_start(lines, i):
            header = split_row(line)
            rows = []
            i += 2
            while i < n and lines[i].strip() and '|' in lines[i] \
                    and not FENCE.match(lines[i]) and not HEADING.match(lines[i]):
                rows.append(split_row(lines[i]))
                i += 1
            ncol = len(header)
            rows = [(r + [''] * ncol)[:ncol] for r in rows]
            blocks.append(('table', header, rows))
            continue
        if line.lstrip().startswith('>') and indent_of(line) < 4:
            inner = []
            while i < n and lines[i].strip():
                s = lines[i].lstrip()
                if s.startswith('>'):
                    s = s[1:]
                    if s.startswith(' '):
                        s = s[1:]
                elif starts_block(lines, i):
                    break
                inner.append(s)
                i += 1
            blocks.append(('quote', parse_blocks(inner)))
            continue
        m = ITEM.match(line)
        if m:
            i = parse_list(lines, i, blocks)
            continue
        if indent_of(line) >= 4:
            body = []
            while i < n and (not lines[i].strip() or indent_of(lines[i]) >= 4):
                body.append(lines[i][4:])
                i += 1
            while body and not body[-1].strip():
                body.pop()
            blocks.append(('code', '', body))
            continue
        para = [hard_strip(line)]
        i += 1
        while i < n and lines[i].strip():
            if SETEXT.match(lines[i]) and not ITEM.match(lines[i]):
                level = 1 if lines[i].strip()[0] == '=' else 2
                blocks.append(('heading', level, ' '.join(para)))
                para = None
                i += 1
                break
            if starts_block(lines, i):
                break
            para.append(hard_strip(lines[i]))
            i += 1
        if para:
            blocks.append(('para', para))
    return blocks


def parse_list(lines, i, blocks):
    n = len(lines)
    first = ITEM.match(lines[i])
    ordered = first.group(2)[0].isdigit()
    kind = first.group(2)[-1]
    start = int(first.group(2)[:-1]) if ordered else 1
    items = []
    while i < n:
        m = ITEM.match(lines[i])
        if not m or m.group(2)[0].isdigit() != ordered or m.group(2)[-1] != kind:
            break
        gap = len(m.group(3)) if m.group(4) else 1
        if gap > 4:
            gap = 1
        content_ind = len(m.group(1)) + len(m.group(2)) + gap
        item = [m.group(4) if gap == len(m.group(3)) else m.group(3)[1:] + m.group(4)]
        i += 1
        while i < n:
            ln = lines[i]
            if not ln.strip():
                j = i
                while j < n and not lines[j].strip():
                    j += 1
                if j < n and indent_of(lines[j]) >= content_ind:
                    item.extend([''] * (j - i))
                    i = j
                    continue
                break
            if indent_of(ln) >= content_ind:
                item.append(ln[content_ind:])
                i += 1
                continue
            if ITEM.match(ln) or starts_block(lines, i):
                break
            if item[-1].strip():            # lazy continuation of a paragraph
                item.append(ln.strip())
                i += 1
                continue
            break
        items.append(parse_blocks(item))
        j = i
        while j < n and not lines[j].strip():
            j += 1
        if j < n and j > i:
            mm = ITEM.match(lines[j])
            if mm and mm.group(2)[0].isdigit() == ordered and mm.group(2)[-1] == kind:
                i = j
    blocks.append(('list', ordered, start, items))
    return i


# --------------------------------------------------------------------------
# Inline: ('text', s) ('code', s) ('strong', nodes) ('em', nodes) ('link', nodes, url)

PUNCT = set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~')


def find_closing(s, i, delim):
    """Index of the closing delim from i on, skipping code spans, or -1."""
    while i < len(s):
        c = s[i]
        if c == '\\' and i + 1 < len(s):
            i += 2
            continue
        if c == '`':
            n = len(s[i:]) - len(s[i:].lstrip('`'))
            j = s.find('`' * n, i + n)
            i = (j + n) if j >= 0 else i + n
            continue
        if s.startswith(delim, i) and i > 0 and not s[i - 1].isspace():
            if delim == '*' and (s.startswith('**', i) or (i > 0 and s[i - 1] == '*')):
                i += 1
                continue
            return i
        i += 1
    return -1


def parse_inline(s):
    nodes, buf, i = [], [], 0

    def flush():
        if buf:
            nodes.append(('text', ''.join(buf)))
            buf.clear()

    while i < len(s):
        c = s[i]
        if c == '\\' and i + 1 < len(s) and s[i + 1] in PUNCT:
            buf.append(s[i + 1])
            i += 2
            continue
        if c == '`':
            n = len(s[i:]) - len(s[i:].lstrip('`'))
            j = i + n
            while True:
                j = s.find('`' * n, j)
                if j < 0 or not s.startswith('`', j + n):
                    break
                j += len(s[j:]) - len(s[j:].lstrip('`'))
            if j < 0:
                buf.append(s[i:i + n])
                i += n
                continue
            code = s[i + n:j].replace('\n', ' ')
            if len(code) > 2 and code[0] == ' ' and code[-1] == ' ' and code.strip():
                code = code[1:-1]
            flush()
            nodes.append(('code', code))
            i = j + n
            continue
        if s.startswith('**', i) and i + 2 < len(s) and not s[i + 2].isspace():
            j = find_closing(s, i + 2, '**')
            if j > i + 2:
                flush()
                nodes.append(('strong', parse_inline(s[i + 2:j])))
                i = j + 2
                continue
            buf.append('**')
            i += 2
            continue
        if c == '*' and i + 1 < len(s) and not s[i + 1].isspace() and s[i + 1] != '*':
            j = find_closing(s, i + 1, '*')
            if j > i + 1:
                flush()
                nodes.append(('em', parse_inline(s[i + 1:j])))
                i = j + 1
                continue
        if c == '[':
            m = re.match(r'\[([^\]\n]*)\]\(([^)\s]+)(?:\s+"[^"]*")?\)', s[i:])
            if m:
                flush()
                nodes.append(('link', parse_inline(m.group(1)), m.group(2)))
                i += m.end()
                continue
        if c == '<':
            m = re.match(r'<((?:https?|ftp|mailto):[^>\s]+)>', s[i:])
            if m:
                flush()
                nodes.append(('link', [], m.group(1)))
                i += m.end()
                continue
        buf.append(c)
        i += 1
    flush()
    return nodes


GLYPHS = {
    '\u2192': '\\(->', '\u2190': '\\(<-', '\u2264': '\\(<=', '\u2265': '\\(>=',
    '\u00d7': '\\(mu', '\u2014': '\\(em', '\u2013': '\\(en', '\u2022': '\\(bu',
    '\u201c': '\\(lq', '\u201d': '\\(rq', '\u2018': '\\(oq', '\u2019': '\\(cq',
    '\u00b0': '\\(de', '\u00b1': '\\(+-', '\u2260': '\\(!=', '\u00a0': '\\~',
    '\u2026': '...',
}


BREAK_AFTER = set('/,:;=&?|')
LONG_WORD = 40


def break_points(s):
    """Indices after which a long word may break."""
    pts = set()
    for m in re.finditer(r'\S{%d,}' % (LONG_WORD + 1), s):
        last = m.start()
        for k in range(m.start() + 6, m.end() - 4):
            if s[k] in BREAK_AFTER or k + 1 - last >= LONG_WORD:
                pts.add(k)
                last = k + 1
    return pts


def esc(s, code=False, fill=True):
    """Escape text for a roff text line (Out.text guards its first character).
    In fill mode, words longer than LONG_WORD get break points (\\:) so that
    a long path or JSON object never makes an unbreakable line."""
    out = []
    pts = break_points(s) if fill else ()
    for k, ch in enumerate(s):
        if k - 1 in pts:
            out.append('\\:')
        if ch == '\\':
            out.append('\\e')
        elif ch == '-':
            prev = s[k - 1] if k else ''
            nxt = s[k + 1] if k + 1 < len(s) else ''
            if code or not (prev.isalnum() and nxt.isalnum()):
                out.append('\\-')
            else:
                out.append('-')
        elif ch == "'" and code:
            out.append('\\(aq')
        elif ch == '`':
            out.append('\\(ga')
        elif ch == '^':
            out.append('\\(ha')
        elif ch == '~':
            out.append('\\(ti')
        elif ch == '\t':
            out.append(' ')
        elif ch == '\n':
            out.append('\n')
        elif ord(ch) < 32 or ord(ch) == 127:
            continue
        elif ord(ch) > 127:
            out.append(GLYPHS.get(ch, '\\[u%04X]' % ord(ch)))
        else:
            out.append(ch)
    return ''.join(out)


def font_esc(f):
    return {'R': '\\fR', 'B': '\\fB', 'I': '\\fI', 'BI': '\\f(BI'}[f]


def add_font(base, extra):
    fonts = {'R': set(), 'B': {'B'}, 'I': {'I'}, 'BI': {'B', 'I'}}[base] | {extra}
    return 'BI' if fonts == {'B', 'I'} else fonts.pop()


def render_nodes(nodes, font='R'):
    out = []
    for nd in nodes:
        if nd[0] == 'text':
            out.append(esc(nd[1]))
        elif nd[0] == 'code':
            f = add_font(font, 'B')
            # \% before each word: never hyphenate a path or a name
            text = re.sub(r'(^| )(?=\S)', r'\1\\%', esc(nd[1], code=True))
            out.append(font_esc(f) + text + font_esc(font) if f != font else text)
        elif nd[0] in ('strong', 'em'):
            f = add_font(font, 'B' if nd[0] == 'strong' else 'I')
            inner = render_nodes(nd[1], f)
            out.append(font_esc(f) + inner + font_esc(font) if f != font else inner)
        elif nd[0] == 'link':
            text = render_nodes(nd[1], font)
            url = esc(nd[2], code=True)
            if nd[1] and not is_url(nd[2]):
                out.append(text)
            elif not nd[1] or plain_nodes(nd[1]) == nd[2]:
                out.append(url)
            else:
                out.append(text + ' <' + url + '>')
    return ''.join(out)


def is_url(target):
    """A link to elsewhere (scheme:...), not a file of the source tree."""
    return re.match(r'^[A-Za-z][A-Za-z0-9+.-]*:', target) is not None


def plain_nodes(nodes):
    out = []
    for nd in nodes:
        if nd[0] in ('text', 'code'):
            out.append(nd[1])
        elif nd[0] in ('strong', 'em'):
            out.append(plain_nodes(nd[1]))
        elif nd[0] == 'link':
            t = plain_nodes(nd[1])
            out.append(t if t and not is_url(nd[2]) else
                       nd[2] if not t or t == nd[2] else t + ' <' + nd[2] + '>')
    return ''.join(out)


def inline(s):
    return render_nodes(parse_inline(s))


def plain(s):
    return plain_nodes(parse_inline(s))


# --------------------------------------------------------------------------
# roff output

class Out:
    def __init__(self):
        self.lines = []

    def req(self, name, *args):
        """A request or macro call; arguments are quoted as needed."""
        a = []
        for x in args:
            x = str(x)
            if x == '' or re.search(r'[\s"]', x):
                x = '"' + x.replace('"', '\\(dq') + '"'
            a.append(x)
        self.lines.append('.' + name + (' ' + ' '.join(a) if a else ''))

    def text(self, s, nofill=False):
        """Text lines: never a control line, never a blank one in fill mode.
        Text with break points inside long words (see esc) is set without
        adjusting: a line holding one long word cannot be justified."""
        ragged = not nofill and '\\:' in s
        if ragged:
            self.req('na')
        for ln in s.split('\n'):
            if not nofill:
                ln = ln.strip()
                if not ln:
                    continue
            else:
                ln = ln.rstrip()
            # \% works at the start of a word only; inside one it would mark
            # a hyphenation point: move it to the front of its word
            ln = re.sub(r'\S*\\%\S*', lambda m: '\\%' + m.group(0).replace('\\%', ''), ln)
            if ln[:1] in ('.', "'"):
                ln = '\\&' + ln
            self.lines.append(ln)
        if ragged:
            self.req('ad')

    def getvalue(self):
        return '\n'.join(self.lines) + '\n'


def heading_arg(text):
    return esc(plain(text), fill=False).replace('\n', ' ')


def render_para(out, lines):
    """Lines of a paragraph; hard breaks (two trailing spaces or '\\') as .br.
    HTML comments are dropped, as a markdown viewer does."""
    text = re.sub(r'<!--.*?-->', '', '\n'.join(lines), flags=re.S)
    lines = [ln for ln in text.split('\n') if ln.strip()]
    if not lines:
        return
    segs, cur = [], []
    for ln in lines:
        if ln.endswith('  ') or (ln.endswith('\\') and not ln.endswith('\\\\')):
            cur.append(ln.rstrip(' ').rstrip('\\') if not ln.endswith('  ') else ln.rstrip())
            segs.append(cur)
            cur = []
        else:
            cur.append(ln)
    if cur:
        segs.append(cur)
    for k, seg in enumerate(segs):
        if k:
            out.req('br')
        out.text(inline('\n'.join(seg)))


def render_code(out, body):
    while body and not body[0].strip():
        body = body[1:]
    while body and not body[-1].strip():
        body = body[:-1]
    out.req('EX')
    for ln in body:
        out.text(esc(ln.expandtabs(8), code=True, fill=False), nofill=True)
    out.req('EE')


TABLE_WIDTH = 64


def render_table(out, header, rows):
    ncol = len(header)
    widths = [0] * ncol
    for r in [header] + rows:
        for j, c in enumerate(r):
            widths[j] = max(widths[j], len(plain(c)))
    total = sum(widths) + 2 * (ncol - 1)
    if total <= TABLE_WIDTH:
        out.req('PP')
        out.req('RS', 4)
        out.req('nf')
        for r, hdr in [(header, True)] + [(x, False) for x in rows]:
            cells = []
            for j, c in enumerate(r):
                txt = render_nodes(parse_inline(c), 'B' if hdr else 'R')
                if hdr and c:
                    txt = '\\fB' + txt + '\\fR'
                pad = widths[j] - len(plain(c)) if j < ncol - 1 else 0
                cells.append(txt + ' ' * pad)
            out.text('  '.join(cells).replace('\n', ' '), nofill=True)
        out.req('fi')
        out.req('RE')
        return
    # too wide for columns: one tagged paragraph per row
    tagw = min(max(len(plain(r[0])) for r in rows) + 2, 24) if rows else 8
    for r in rows:
        out.req('TP', tagw)
        out.text(inline(r[0]).replace('\n', ' ') or '\\&')
        rest = [(header[j], r[j]) for j in range(1, ncol) if r[j].strip()]
        if not rest:
            out.text('\\&')
        for k, (h, c) in enumerate(rest):
            if k:
                out.req('br')
            if ncol == 2:
                out.text(inline(c))
            else:
                out.text('\\fI' + render_nodes(parse_inline(h), 'I') + '\\fR: ' + inline(c))


def render_blocks(out, blocks, sub='SS'):
    """sub: what a heading inside becomes: 'SS' (a subsection) or 'B' (bold line)."""
    for b in blocks:
        kind = b[0]
        if kind == 'heading':
            if sub == 'SS' and b[1] <= 3:
                out.req('SS', heading_arg(b[2]))
            else:
                out.req('PP')
                out.text('\\fB' + render_nodes(parse_inline(b[2]), 'B') + '\\fR')
        elif kind == 'para':
            if re.sub(r'<!--.*?-->', '', '\n'.join(b[1]), flags=re.S).strip():
                out.req('PP')
                render_para(out, b[1])
        elif kind == 'code':
            out.req('PP')
            out.req('RS', 4)
            render_code(out, b[2])
            out.req('RE')
        elif kind == 'table':
            render_table(out, b[1], b[2])
        elif kind == 'list':
            render_list(out, b)
        elif kind == 'quote':
            out.req('RS', 4)
            render_blocks(out, b[1], 'B')
            out.req('RE')
        # 'hr': nothing; paragraphs already stand apart


def render_list(out, b):
    _, ordered, start, items = b
    width = len(str(start + len(items) - 1)) + 2 if ordered else 2
    for k, blocks in enumerate(items):
        tag = '%d.' % (start + k) if ordered else '\\(bu'
        out.req('IP', tag, width)
        rest = blocks
        if blocks and blocks[0][0] == 'para':
            render_para(out, blocks[0][1])
            rest = blocks[1:]
        else:
            out.text('\\&')
        if rest:
            out.req('RS')
            render_blocks(out, rest, 'B')
            out.req('RE')


# --------------------------------------------------------------------------
# the page

TITLE = re.compile(r'^`?([A-Za-z][\w.-]*)\((\d\w*)\)`?$')


def synopsis_line(s):
    """cloudsteer replay --config FILE [-v] PCAP... -> roff: words bold, METAVARS italic."""
    toks = re.findall(r'\.\.\.|[\[\]{}|]|\s+|[^\s\[\]{}|]+?(?=\.\.\.|[\s\[\]{}|]|$)', s.strip())
    out, words = [], 0
    for t in toks:
        if t.isspace():
            out.append(' ')
        elif t in ('[', ']', '{', '}', '|', '...'):
            out.append(esc(t))
        else:
            words += 1
            left, eq, right = t.partition('=')
            if re.match(r'^[A-Z][A-Z0-9_]*$', t) and words > 2:
                out.append('\\fI' + esc(t, code=True) + '\\fR')
            elif eq and re.match(r'^[A-Z][A-Z0-9_]*$', right):
                out.append('\\fB' + esc(left, code=True) + '\\fR=\\fI' + esc(right, code=True) + '\\fR')
            else:
                out.append('\\fB' + esc(t, code=True) + '\\fR')
    return re.sub(r'\\fR \\fB', ' ', ''.join(out))


def page(md, version, date):
    lines = [re.sub(r'^[ \t]+', lambda m: m.group(0).expandtabs(4), ln)
             for ln in md.replace('\r\n', '\n').replace('\r', '\n').split('\n')]
    blocks = parse_blocks(lines)
    name, section = 'cloudsteer', '8'
    title = next((b for b in blocks if b[0] == 'heading' and b[1] == 1), None)
    m = TITLE.match(plain(title[2]).strip()) if title else None
    if m:
        name, section = m.group(1), m.group(2)
    else:
        warn('no level-1 heading "NAME(SECTION)" to name the page; called it %s(%s)' % (name, section))
    secs = []                                # (TITLE, blocks), one per level-2 heading
    for b in blocks:
        if b[0] == 'heading' and b[1] <= 2:
            if b[1] == 2:
                secs.append((plain(b[2]).strip().upper(), []))
        elif secs:
            secs[-1][1].append(b)
    for need in ('NAME', 'SYNOPSIS'):
        if need not in [t for t, _ in secs]:
            warn('no "## %s" section' % need)

    o = Out()
    o.lines.append('.\\" %s(%s): generated by scripts/gen-man.py from docs/commands.md.' % (name, section))
    o.lines.append('.\\" Do not edit: edit docs/commands.md and run "make man".')
    o.req('TH', name.upper(), section, date, name + ' ' + version if version else name,
          'System Administration')
    o.req('hw', name)                        # the program's name is never hyphenated
    for stitle, sblocks in secs:
        o.req('SH', esc(stitle, fill=False))
        if stitle == 'SYNOPSIS':
            # one line per command, left-aligned, unhyphenated; a line too
            # long for the page goes on indented
            o.req('nh')
            o.req('ad', 'l')
            o.req('in', '+4n')
            for b in sblocks:
                for ln in (b[2] if b[0] == 'code' else []):
                    if ln.strip():
                        o.req('ti', '-4n')
                        o.text(synopsis_line(ln))
                        o.req('br')
                if b[0] != 'code':
                    render_blocks(o, [b], 'SS')
            o.req('in')
            o.req('ad')
            o.req('hy')
        else:
            render_blocks(o, sblocks, 'SS')
    return o.getvalue()


def main(argv):
    version, date, path = '', '', None
    args = list(argv)
    while args:
        a = args.pop(0)
        if a in ('--version', '--date') and args:
            v = args.pop(0)
            if a == '--version':
                version = v
            else:
                date = v
        elif a in ('-h', '--help'):
            print(__doc__.strip())
            return 0
        elif a.startswith('-') and a != '-':
            print('gen-man: unknown option %s (see --help)' % a, file=sys.stderr)
            return 2
        elif path is None:
            path = a
        else:
            print('gen-man: one Markdown file only (see --help)', file=sys.stderr)
            return 2
    if path is None:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'docs', 'commands.md')
    try:
        if path == '-':
            md = sys.stdin.read()
        else:
            with open(path, encoding='utf-8', errors='replace') as f:
                md = f.read()
    except OSError as e:
        print('gen-man: %s: %s' % (path, e.strerror), file=sys.stderr)
        return 1
    if not date:
        epoch = os.environ.get('SOURCE_DATE_EPOCH')
        try:
            ts = int(epoch) if epoch else (os.path.getmtime(path) if path != '-' else None)
        except (ValueError, OSError):
            ts = None
        d = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc) if ts is not None \
            else datetime.datetime.now(datetime.timezone.utc)
        date = d.strftime('%Y-%m-%d')
    sys.stdout.write(page(md, version, date))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
