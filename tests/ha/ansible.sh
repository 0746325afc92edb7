#!/usr/bin/env bash
# The Ansible module psctl.psctl.psctl_apply with a real ansible-playbook (connection local)
# and the real psctl, padmin and pcheck: ansible-doc accepts the module; a first run changes,
# a second is ok; --check reports a change and writes nothing; --diff shows before and after;
# the running pcheck of a changed pfile is reloaded; invalid input fails with psctl's
# diagnostics. Needs root (pcheck runs as root). Ends with "N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
    echo "SKIPPED: tests/ha/ansible.sh needs root (pcheck)" >&2
    echo "0 passed, 0 failed, 1 skipped"
    exit 0
fi
for t in ansible-playbook ansible-doc ansible-test; do
    command -v "$t" >/dev/null || { echo "$t missing: run scripts/setup-test-deps" >&2; exit 2; }
done
find_bins

W=$(mktemp -d /tmp/psctl-ansible.XXXXXX)
pcheck_pid=""
cleanup() {
    [ -n "$pcheck_pid" ] && kill "$pcheck_pid" 2>/dev/null && wait "$pcheck_pid" 2>/dev/null
    pkill -f "^ansible-demo-$$" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT

export ANSIBLE_COLLECTIONS_PATH=$REPO
export ANSIBLE_LOCAL_TEMP=$W/ansible-tmp ANSIBLE_REMOTE_TEMP=$W/ansible-tmp
export ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_LOCALHOST_WARNING=0
export PCHECK_RUNTIME_DIR=$W/run
root=$W/root
conf=/var/opt/HA/PS/conf/bin # host path; under $root on disk
mkdir -p "$root" "$W/services"

# 1. The documentation.
check "ansible-doc renders the module" bash -c "ansible-doc psctl.psctl.psctl_apply >'$W/doc.txt' 2>&1 && grep -q 'psctl apply --message-format json' '$W/doc.txt'"
check "ansible-doc lists it in the collection" bash -c "ansible-doc -l psctl.psctl 2>/dev/null | grep -q '^psctl.psctl.psctl_apply '"
check "ansible-doc --json has DOCUMENTATION, EXAMPLES and RETURN" python3 -c "
import json, subprocess, sys
d = json.loads(subprocess.check_output(['ansible-doc', '--json', 'psctl.psctl.psctl_apply']))
m = d['psctl.psctl.psctl_apply']
sys.exit(not (m['doc']['options']['src']['required'] and 'psctl_apply' in m['examples']
              and 'reloaded' in m['return']))"

# ansible-test sanity: the tests that need no download (the others bootstrap pip from a host
# outside the package registries), on a copy so that its output stays out of the checkout.
mkdir -p "$W/coll/ansible_collections/psctl" "$W/home"
cp -r "$REPO/ansible_collections/psctl/psctl" "$W/coll/ansible_collections/psctl/"
py=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
sanity=()
for t in compile shebang no-assert no-get-exception use-argspec-type-path replace-urlopen \
    symlinks no-illegal-filenames line-endings no-smart-quotes empty-init action-plugin-docs; do
    sanity+=(--test "$t")
done
if (cd "$W/coll/ansible_collections/psctl/psctl" &&
    HOME=$W/home ansible-test sanity --local --python "$py" "${sanity[@]}") >"$W/sanity.txt" 2>&1; then
    ok "ansible-test sanity: $((${#sanity[@]} / 2)) tests that run offline"
else
    not_ok "ansible-test sanity"
    grep -v '^WARNING' "$W/sanity.txt"
fi

# psctl's per-file diffs ({"before","after","before_header","after_header"}, newer psctl)
# become Ansible's before/after list; without them the unified diff text is shown as is.
check "the module maps both diff shapes" python3 -c "
import importlib.util, sys
spec = importlib.util.spec_from_file_location('m', '$REPO/ansible_collections/psctl/psctl/plugins/modules/psctl_apply.py')
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
d = {'before_header': '/p', 'after_header': '/p', 'before': 'a\\n', 'after': 'b\\n'}
new = m.ansible_diff({'diffs': [d], 'diff': 'text'})
old = m.ansible_diff({'diff': 'text'})
sys.exit(not (new == [d] and old == {'prepared': 'text'} and m.ansible_diff({}) is None))"

# 2. A service whose process runs, and the playbook.
describe() { # describe RETRIES
    cat >"$W/services/demo.yaml" <<EOF
name: demo
ipckey: 0x1f00b$(printf '%03x' $(($$ & 0xfff)))
msg_check_interval: 1s
monitor_interval: 1s
dump_file: $W/dump_demo
conf_dir: $conf
processes:
  - name: ansible-demo-$$
    restart:
      stop: "true"
      start: setsid -f bash -c 'exec -a ansible-demo-$$ sleep 100000'
      wait: 1s
    grace: 1h
    retries: $1
    on_retry_over: continue
EOF
}
describe 3
cat >"$W/play.yml" <<EOF
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Install the pcheck configuration
      psctl.psctl.psctl_apply:
        src: $W/services
        root: $root
        executable: $BIN/psctl
        padmin: $BIN/padmin
      register: psctl
    - name: Keep the result for the test
      ansible.builtin.copy:
        content: "{{ psctl | to_nice_json }}"
        dest: $W/result.json
        mode: "0600"
      check_mode: false
      diff: false
      changed_when: false
EOF
play() { ansible-playbook -i localhost, "$W/play.yml" "$@" >"$W/out.txt" 2>&1; }
recap() { grep -Eq "localhost +: ok=2 +changed=$1 +unreachable=0 +failed=0" "$W/out.txt"; }
result() { python3 -c "import json,sys; r=json.load(open('$W/result.json')); sys.exit(not ($1))"; }
pfile=$root$conf/pfile_demo

check "first run: changed" bash -c "$(declare -f play recap); W='$W'; play && recap 1"
check "first run: the pfile is installed" test -f "$pfile"
check "first run: the result lists the files written" result "'$conf/pfile_demo' in r['written'] and r['changed']"
cp "$pfile" "$W/pfile.v1"
check "second run: ok, nothing changed" bash -c "$(declare -f play recap); W='$W'; play && recap 0"
check "second run: nothing written" result "r['written'] == [] and not r['changed'] and '$conf/pfile_demo' in r['unchanged']"

# pcheck watches the service from the installed pfile, so a change must reload it.
(cd / && setsid -f bash -c "exec -a ansible-demo-$$ sleep 100000")
"$BIN/pcheck" -f "$pfile" 2>"$W/pcheck.err" &
pcheck_pid=$!
serving() { "$BIN/padmin" -f "$pfile" -c "show param" >/dev/null 2>&1; }
check "pcheck serves the installed pfile" wait_for 20 serving

describe 5
check "--check: reports a change" bash -c "$(declare -f play recap); W='$W'; play --check && recap 1"
check "--check: writes nothing" cmp -s "$pfile" "$W/pfile.v1"
check "--check: says what would be written, reloads nothing" result "'$conf/pfile_demo' in r['written'] and r['reloaded'] == [] and r['summary']['check']"
check "--check --diff: shows before and after" bash -c "$(declare -f play recap); W='$W'; play --check --diff && recap 1 && grep -q -- '-ansible-demo-$$:.*:3600:3:continue' '$W/out.txt' && grep -q -- '+ansible-demo-$$:.*:3600:5:continue' '$W/out.txt'"
check "--check --diff: still writes nothing" cmp -s "$pfile" "$W/pfile.v1"
check "--diff: applies and shows the diff" bash -c "$(declare -f play recap); W='$W'; play --diff && recap 1 && grep -q -- '+ansible-demo-$$:.*:3600:5:continue' '$W/out.txt'"
check "--diff: the pfile changed" grep -q ":3600:5:continue" "$pfile"
check "the running pcheck was reloaded" result "r['reloaded'] == ['$conf/pfile_demo']"
check "and pcheck runs the new configuration" bash -c "'$BIN/padmin' -f '$pfile' -c 'show pent' | grep -q 'pname *= ansible-demo-$$'"
check "then: ok again" bash -c "$(declare -f play recap); W='$W'; play && recap 0"

# 3. Invalid input: the task fails with psctl's diagnostics and nothing is written.
cp "$pfile" "$W/pfile.v2"
sed -i 's/retries: 5/retries: many/' "$W/services/demo.yaml"
play --diff
check "invalid input: the task fails" grep -Eq "localhost +: ok=0 +changed=0 +unreachable=0 +failed=1" "$W/out.txt"
check "with the diagnostic's file and line" grep -q "demo.yaml:1[0-9]:" "$W/out.txt"
check "and nothing is written" cmp -s "$pfile" "$W/pfile.v2"

summary
