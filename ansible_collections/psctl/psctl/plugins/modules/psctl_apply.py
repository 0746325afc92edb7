#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: psctl developers
# SPDX-License-Identifier: MIT OR Apache-2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: psctl_apply
short_description: Install pcheck configurations with psctl apply and reload their pchecks
version_added: "0.1.0"
description:
  - Runs C(psctl apply --message-format json) on the managed host. psctl compiles every
    service description and pfile given in O(src), installs the pfiles and restart scripts
    that differ from what is under O(root) (atomically, with their modes), and asks each
    running pcheck whose pfile changed to reload it (C(padmin -c reload)).
  - Nothing is installed unless every input is valid; the diagnostics are returned.
  - Check mode is native (C(psctl apply --check)) and reports what would change.
  - Diff mode is native (C(psctl apply --diff)) and shows before and after per file.
options:
  src:
    description:
      - Service descriptions (C(.yaml), C(.yml), C(.toml), C(.json)) and pfiles, files or
        directories, on the managed host. Give the complete set for the host (usually one
        directory) so that psctl can tell which installed files are stale.
    type: list
    elements: path
    required: true
    aliases: [path]
  root:
    description:
      - The directory standing for C(/) on the target (an image, a chroot, a test).
    type: path
    default: /
  prune:
    description:
      - Remove files installed by an earlier apply whose description is gone (C(--prune)).
    type: bool
    default: false
  executable:
    description:
      - Path of the C(psctl) executable. By default it is looked up on the PATH and in
        C(/opt/HA/PS/bin).
    type: path
  padmin:
    description:
      - Path of the C(padmin) executable psctl uses to reload pchecks (C($PSCTL_PADMIN)).
        By default psctl looks next to itself, then on the PATH.
    type: path
  reload_timeout:
    description:
      - Seconds to wait for a pcheck to answer a reload (C($PSCTL_RELOAD_TIMEOUT)).
        By default the pfile's C(MSG_CHECK_INTERVAL) plus 30 seconds.
    type: int
notes:
  - Needs psctl on the managed host; run it as root to install under C(/).
  - Supports C(check_mode) and C(diff) natively.
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
author:
  - psctl developers
"""

EXAMPLES = r"""
- name: Install the pcheck configurations of this host and reload the pchecks
  psctl.psctl.psctl_apply:
    src: /etc/psctl/services

- name: Also remove what descriptions that were deleted had installed
  psctl.psctl.psctl_apply:
    src:
      - /etc/psctl/services
    prune: true
    executable: /opt/HA/PS/bin/psctl
  register: psctl

- name: Say which pchecks were reloaded
  ansible.builtin.debug:
    var: psctl.reloaded
"""

RETURN = r"""
changed:
  description: A file was (in check mode, would be) written or removed.
  returned: always
  type: bool
written:
  description: Host paths of the files written (in check mode, that would be written).
  returned: success
  type: list
  elements: str
  sample: [/var/opt/HA/PS/conf/bin/pfile_cron]
unchanged:
  description: Host paths of the generated files already in place.
  returned: success
  type: list
  elements: str
removed:
  description: Host paths of the files removed (in check mode, that would be removed).
  returned: success
  type: list
  elements: str
stale:
  description: Files installed by an earlier apply that are no longer generated.
  returned: success
  type: list
  elements: str
reloaded:
  description: pfiles whose running pcheck was asked to reload, and did.
  returned: success
  type: list
  elements: str
  sample: [/var/opt/HA/PS/conf/bin/pfile_cron]
not_running:
  description: Changed pfiles that no running pcheck serves (they take effect at its start).
  returned: success
  type: list
  elements: str
warnings_psctl:
  description: Host-rule warnings from psctl (restart scripts missing, not executable...).
  returned: success
  type: list
  elements: str
errors:
  description: What went wrong, as psctl reports it.
  returned: failure
  type: list
  elements: str
diagnostics:
  description: psctl's diagnostics for the inputs, one object each (file, line, column, code, message...).
  returned: always
  type: list
  elements: dict
summary:
  description: The JSON summary psctl printed, as is.
  returned: when psctl printed one
  type: dict
cmd:
  description: The command that was run.
  returned: always
  type: list
  elements: str
exit_status:
  description:
    - psctl's exit status (0 done or in sync, 1 problems, 2 usage or I/O error, 3 check mode
      found changes). Not named C(rc), which Ansible would take as a failure when not 0.
  returned: always
  type: int
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule


def parse_output(stdout):
    """psctl prints one JSON object per line: diagnostics first, the summary last."""
    diagnostics = []
    summary = None
    for line in stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if not isinstance(obj, dict):
            continue
        if obj.get("summary") == "apply":
            summary = obj
        else:
            diagnostics.append(obj)
    return diagnostics, summary


def ansible_diff(summary):
    """Ansible's diff: before/after per file when psctl gives them (`diffs`), else the
    unified diff text psctl printed (`diff`), shown as is."""
    per_file = summary.get("diffs")
    if isinstance(per_file, list):
        out = []
        for d in per_file:
            if not isinstance(d, dict):
                continue
            out.append(
                {
                    "before_header": d.get("before_header", ""),
                    "after_header": d.get("after_header", ""),
                    "before": d.get("before") or "",
                    "after": d.get("after") or "",
                }
            )
        return out
    text = summary.get("diff")
    if text:
        return {"prepared": text}
    return None


def find_psctl(module):
    exe = module.params["executable"]
    if exe:
        return exe
    return module.get_bin_path("psctl", required=True, opt_dirs=["/opt/HA/PS/bin"])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            src=dict(type="list", elements="path", required=True, aliases=["path"]),
            root=dict(type="path", default="/"),
            prune=dict(type="bool", default=False),
            executable=dict(type="path"),
            padmin=dict(type="path"),
            reload_timeout=dict(type="int"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if not p["src"]:
        module.fail_json(msg="src: give at least one description, pfile or directory")

    cmd = [find_psctl(module), "apply", "--message-format", "json", "--root", p["root"]]
    if module.check_mode:
        cmd.append("--check")
    if module._diff:
        cmd.append("--diff")
    if p["prune"]:
        cmd.append("--prune")
    cmd.append("--")
    cmd.extend(p["src"])

    env = {}
    if p["padmin"]:
        env["PSCTL_PADMIN"] = p["padmin"]
    if p["reload_timeout"] is not None:
        env["PSCTL_RELOAD_TIMEOUT"] = str(p["reload_timeout"])

    rc, stdout, stderr = module.run_command(cmd, environ_update=env, check_rc=False)
    diagnostics, summary = parse_output(stdout)
    result = dict(cmd=cmd, exit_status=rc, diagnostics=diagnostics, changed=False)

    if summary is None:
        module.fail_json(
            msg="psctl apply printed no JSON summary (exit status %d): %s"
            % (rc, (stderr or stdout).strip()),
            stdout=stdout,
            stderr=stderr,
            **result
        )

    result["summary"] = summary
    failed = rc not in (0, 3) or bool(summary.get("errors")) or summary.get("failed") is True
    # 3 is "check mode found something to change"; outside check mode it is a failure.
    if rc == 3 and not module.check_mode:
        failed = True
    result["changed"] = bool(summary.get("changed"))
    for key in ("written", "unchanged", "removed", "stale", "reloaded", "not_running"):
        result[key] = summary.get(key) or []
    result["warnings_psctl"] = summary.get("warnings") or []
    for w in result["warnings_psctl"]:
        module.warn("psctl: %s" % w)
    if module._diff:
        diff = ansible_diff(summary)
        if diff:
            result["diff"] = diff

    if failed:
        errors = summary.get("errors") or []
        problems = [
            "%s:%s:%s: %s"
            % (d.get("file", "?"), d.get("line", "?"), d.get("column", "?"), d.get("message", ""))
            for d in diagnostics
            if d.get("severity", "error") == "error"
        ]
        module.fail_json(
            msg="psctl apply failed: %s" % "; ".join(errors + problems or [stderr.strip()]),
            errors=errors,
            stderr=stderr,
            **result
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
