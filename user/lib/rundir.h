/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * rundir.h - where the daemons keep their notes in /run: under
 * /run/cloudsteer/ (the units' RuntimeDirectory=), one file per pin
 * directory and purpose, named after the pin directory (NAME.lock,
 * NAME.instance.lock, NAME.clsact). Releases before 2027 kept them loose in
 * /run (/run/NAME.lock ...): those legacy paths are still read where a
 * file there would matter (the clsact note, an older instance daemon's lock).
 */
#ifndef CS_RUNDIR_H
#define CS_RUNDIR_H

#include <stddef.h>

#define CS_RUN_DIR "/run/cloudsteer"

/* CS_RUN_DIR/<pin dir name><suffix> into buf (suffix ".lock", ...). */
void cs_run_file(const char *pin_dir, const char *suffix, char *buf, size_t len);
/* /run/<pin dir name><suffix>: where releases before 2027 kept it. */
void cs_run_file_legacy(const char *pin_dir, const char *suffix, char *buf, size_t len);
/* CS_RUN_DIR, made 0700 when missing (a start outside systemd, whose
 * RuntimeDirectory= makes it otherwise). 0, or -1 with the reason in err. */
int cs_run_dir_make(char *err, size_t errlen);

#endif
