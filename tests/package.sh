#!/usr/bin/env bash
# The packages, installed and removed for real (issue 11). Needs root (dpkg -i), dpkg, rpm,
# lintian and rpmlint (scripts/setup-test-deps installs them); CI runs it after cargo test.
#
#   tests/package.sh            build with scripts/package, then test
#   tests/package.sh --no-build test the packages already in target/packages/
#
# It checks: lintian and rpmlint are clean; the .rpm's files are the .deb's; the .deb installs
# (`dpkg -s`), follows the guide's sections 3.1-3.3 with the installed files (the sample
# copied to conf/bin/pfile_cron, `psctl check`, /opt/HA/PS/bin/pcheck on a stand-in daemon,
# `padmin -l`), upgrades keeping an edited conffile, and `dpkg -r` / `dpkg -P` leave the
# system as found (the operator's own files stay); the .rpm installs into a scratch root with
# `rpm -i --root`. pcheck gets a private PCHECK_RUNTIME_DIR and PCHECK_SYSLOG_SOCKET, so other
# tests running at the same time are not disturbed. The last line is `N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/.."

# Bounded in time: the whole run, build included, under one limit.
if [ -z "${PSCTL_PACKAGE_TEST_BOUNDED:-}" ]; then
    export PSCTL_PACKAGE_TEST_BOUNDED=1
    exec timeout --kill-after=10 "${PSCTL_PACKAGE_TEST_TIMEOUT:-1800}" "$0" "$@"
fi

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }
# check NAME COMMAND...: one test, its output shown only when it fails.
check() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then ok "$name"; else bad "$name"; printf '%s\n' "$out" | sed 's/^/     | /'; fi
}
finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}
loud() { printf '\n!!!! tests/package.sh: %s\n\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
    loud "NOT RUN: installing packages needs root (CI runs as root)"
    echo "0 passed, 0 failed (not run: needs root)"
    exit 0
fi
missing=()
for tool in dpkg dpkg-deb rpm lintian rpmlint; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    loud "missing ${missing[*]}: run scripts/setup-test-deps"
    bad "tools present (${missing[*]} missing)"
    finish
fi
if dpkg-query -W -f='${Status}' psctl 2>/dev/null | grep -q 'installed\|config-files'; then
    loud "psctl is already installed on this machine; this test would remove it. Not run."
    bad "psctl not installed before the test"
    finish
fi

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
deb=target/packages/psctl_${version}-1_$(dpkg --print-architecture).deb
rpmfile=target/packages/psctl-${version}-1.$(uname -m).rpm

if [ "${1:-}" != --no-build ]; then
    start=$SECONDS
    if scripts/package; then
        echo "figure: scripts/package took $((SECONDS - start)) s"
    else
        bad "scripts/package"
        finish
    fi
fi
check "the .deb is $deb" test -f "$deb"
check "the .rpm is $rpmfile" test -f "$rpmfile"
[ -f "$deb" ] && [ -f "$rpmfile" ] || finish

tmp=$(mktemp -d /tmp/psctl-package-test.XXXXXX)
pcheck_pid=""
daemon=psctl-pkgtest-crond
cleanup() {
    [ -n "$pcheck_pid" ] && kill "$pcheck_pid" 2>/dev/null
    pkill -f "^$daemon" 2>/dev/null
    if dpkg-query -W -f='${Status}' psctl 2>/dev/null | grep -q 'installed\|config-files'; then
        dpkg -P psctl >/dev/null 2>&1
    fi
    rm -f /var/opt/HA/PS/conf/bin/pfile_cron /var/opt/HA/PS/conf/bin/restart_crond.sh \
        /var/opt/HA/PS/log/pcheck_dump_cron
    for d in /var/opt/HA/PS/conf/bin /var/opt/HA/PS/log /var/opt/HA/PS/conf /var/opt/HA/PS /var/opt/HA; do
        [ -d "$d" ] && [ ! -e "$tmp/had$(echo "$d" | tr / _)" ] && rmdir "$d" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

# --- the packages themselves -------------------------------------------------------------

# lintian: errors and warnings fail; the overrides in packaging/debian/lintian-overrides
# (installed with the package) say why each one is there.
check "lintian is clean" lintian --fail-on error,warning "$deb"
# rpmlint: packaging/rpmlint.toml sets what Debian's rpmlint cannot know (gzipped man pages,
# SPDX licences) and filters, with a reason each, what cannot apply to this package.
check "rpmlint is clean" rpmlint -c packaging/rpmlint.toml "$rpmfile"

# The same files in both (directories aside: each format makes its own).
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $6}' | sed 's|^\./|/|' | sort >"$tmp/deb.files"
rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$rpmfile" 2>/dev/null |
    awk '$1 !~ /^d/ {print $2}' | sort >"$tmp/rpm.files"
check "the .rpm's files are the .deb's ($(wc -l <"$tmp/deb.files") files)" \
    diff "$tmp/deb.files" "$tmp/rpm.files"
check "the .deb's conffiles are the two samples" bash -c "
    dpkg-deb -I '$deb' conffiles | sort | diff - <(printf '%s\n' \
        /var/opt/HA/PS/conf/src/SG_sample/pfile /var/opt/HA/PS/conf/src/SG_sample/restart_crond.sh)"
check "the .rpm's %config(noreplace) files are the two samples" bash -c "
    rpm -qp --qf '[%{FILEFLAGS:fflags}|%{FILENAMES}\n]' '$rpmfile' 2>/dev/null | awk -F'|' '\$1 ~ /c/ && \$1 ~ /n/ {print \$2}' |
        sort | diff - <(printf '%s\n' \
        /var/opt/HA/PS/conf/src/SG_sample/pfile /var/opt/HA/PS/conf/src/SG_sample/restart_crond.sh)"

# --- the state the .deb must leave behind ------------------------------------------------

# Every path the package names, the guide's trees, dpkg's record of psctl and any enabled
# pcheck unit: as found before, as found after purge.
for d in /var/opt/HA/PS/conf/bin /var/opt/HA/PS/log /var/opt/HA/PS/conf /var/opt/HA/PS /var/opt/HA; do
    [ -d "$d" ] && touch "$tmp/had$(echo "$d" | tr / _)"
done
snapshot() {
    {
        dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|; s|/$||' | while read -r p; do
            [ -n "$p" ] || continue
            if [ -e "$p" ] || [ -L "$p" ]; then stat -c '%n %F %a %U %G' "$p"; else echo "$p absent"; fi
        done
        find /opt/HA /var/opt/HA -printf '%p %y %m\n' 2>/dev/null
        ls /var/lib/dpkg/info/psctl.* 2>/dev/null
        ls /etc/systemd/system/*.wants/pcheck@* 2>/dev/null
        dpkg-query -W -f='${Status}\n' psctl 2>&1 | sed 's/dpkg-query: no packages found.*/not known/'
    } | sort
}
snapshot >"$tmp/before"

# --- guide 3.1: install ------------------------------------------------------------------

check "dpkg -i installs the .deb" dpkg -i "$deb"
check "dpkg -s psctl: installed, version ${version}-1" bash -c \
    "dpkg -s psctl | grep -x 'Status: install ok installed' && dpkg -s psctl | grep -x 'Version: ${version}-1'"

check "dpkg -V psctl: every installed file matches its md5sum" bash -c '[ -z "$(dpkg -V psctl 2>&1)" ]'

want_version=$(/usr/bin/psctl --version 2>/dev/null | sed 's/^psctl //')
check "psctl, pcheck and padmin print the same version ($want_version)" bash -c "
    [ -n '$want_version' ] &&
    [ \"\$(/opt/HA/PS/bin/pcheck --version)\" = 'pcheck $want_version' ] &&
    [ \"\$(/opt/HA/PS/bin/padmin --version)\" = 'padmin $want_version' ] &&
    [ \"\$(/usr/sbin/pcheck --version)\" = 'pcheck $want_version' ] &&
    [ \"\$(/usr/sbin/padmin --version)\" = 'padmin $want_version' ]"
check "the binaries are stripped" bash -c "
    for b in /usr/bin/psctl /opt/HA/PS/bin/pcheck /opt/HA/PS/bin/padmin; do
        ! readelf -S \"\$b\" | grep -q '\.symtab' || { echo \"\$b has .symtab\"; exit 1; }
    done"
check "/usr/sbin/pcheck and padmin link to /opt/HA/PS/bin" bash -c "
    [ \"\$(readlink /usr/sbin/pcheck)\" = /opt/HA/PS/bin/pcheck ] &&
    [ \"\$(readlink /usr/sbin/padmin)\" = /opt/HA/PS/bin/padmin ]"
check "conf/bin and log: root-owned directories, mode 755" bash -c "
    [ \"\$(stat -c '%U:%G %a' /var/opt/HA/PS/conf/bin)\" = 'root:root 755' ] &&
    [ \"\$(stat -c '%U:%G %a' /var/opt/HA/PS/log)\" = 'root:root 755' ] &&
    [ -z \"\$(find /var/opt/HA/PS/conf/bin /var/opt/HA/PS/log -mindepth 1)\" ]"
check "schema, examples, man pages, completions, docs in place" bash -c "
    for f in /usr/share/psctl/psctl.schema.json /usr/share/psctl/examples/cron.yaml \
             /usr/share/man/man1/psctl.1.gz /usr/share/man/man1/pcheck.1.gz /usr/share/man/man1/padmin.1.gz \
             /usr/share/bash-completion/completions/psctl /usr/share/zsh/vendor-completions/_psctl \
             /usr/share/fish/vendor_completions.d/psctl.fish /usr/share/doc/psctl/README.md \
             /usr/share/doc/psctl/copyright /usr/share/doc/psctl/changelog.gz; do
        [ -s \"\$f\" ] || { echo \"missing \$f\"; exit 1; }
    done
    cd /usr/share/psctl/examples && /usr/bin/psctl check cron.yaml webstack.yaml"
check "pcheck@.service installed with the /opt/HA/PS/bin paths, not enabled" bash -c "
    grep -x 'ExecStart=/opt/HA/PS/bin/pcheck -f /var/opt/HA/PS/conf/bin/pfile_%i' /usr/lib/systemd/system/pcheck@.service &&
    ! ls /etc/systemd/system/*.wants/pcheck@* 2>/dev/null"
if command -v systemd-analyze >/dev/null 2>&1; then
    mkdir -p "$tmp/units"
    cp /usr/lib/systemd/system/pcheck@.service "$tmp/units/"
    check "systemd-analyze verify accepts the installed unit" bash -c "
        cd '$tmp/units' && out=\$(systemd-analyze verify '$tmp/units/pcheck@cron.service' 2>&1) && [ -z \"\$out\" ] || { echo \"\$out\"; exit 1; }"
else
    loud "systemd-analyze missing (scripts/setup-test-deps installs it): installed unit not verified"
    bad "systemd-analyze present"
fi

# --- guide 3.2: the pfile and the restart script, from the installed sample ---------------

sample=/var/opt/HA/PS/conf/src/SG_sample
pfile=/var/opt/HA/PS/conf/bin/pfile_cron
script=/var/opt/HA/PS/conf/bin/restart_crond.sh
check "cp the sample pfile to conf/bin/pfile_cron" cp "$sample/pfile" "$pfile"
check "psctl check accepts the sample as copied" bash -c "/usr/bin/psctl check '$pfile' 2>&1 | grep -x '0 errors, 0 warnings in 1 file'"
# The operator's edit (guide step 3): here the process is a stand-in daemon, and the
# restart script (from the sample beside the pfile) stops and starts that stand-in.
sed -i "s|^crond:|$daemon:|" "$pfile"
cp "$sample/restart_crond.sh" "$script"
sed -i -e "s|^/etc/init.d/crond stop\$|pkill -f '^$daemon' \|\| :|" \
    -e "s|^/etc/init.d/crond start\$|setsid -f bash -c 'exec -a $daemon sleep 100000' </dev/null >/dev/null 2>\&1|" \
    -e 's|^/bin/sleep 5$|/bin/sleep 1|' "$script"
chmod +x "$script" # the guide's step (the sample's mode already has it)
check "psctl check --host accepts the edited pfile and its script" \
    bash -c "/usr/bin/psctl check --host '$pfile' 2>&1 | grep -x '0 errors, 0 warnings in 1 file'"

# --- guide 3.3: start pcheck on a stand-in daemon; padmin -l --------------------------------

export PCHECK_RUNTIME_DIR=$tmp/run PCHECK_SYSLOG_SOCKET=$tmp/no-syslog
setsid -f bash -c "exec -a $daemon sleep 100000" </dev/null >/dev/null 2>&1
/opt/HA/PS/bin/pcheck -f "$pfile" </dev/null >/dev/null 2>"$tmp/pcheck.err" &
pcheck_pid=$!
wait_for() { # wait_for SECONDS COMMAND...: poll until COMMAND succeeds
    local end=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.1
    done
}
up() { grep -c "($daemon ,pid=[0-9]*) Up" "$tmp/pcheck.err" | grep -qx "$1"; }
check "pcheck finds the stand-in daemon Up" wait_for 15 up 1
check "ps: /opt/HA/PS/bin/pcheck -f $pfile runs" bash -c \
    "tr '\0' ' ' </proc/$pcheck_pid/cmdline | grep -x '/opt/HA/PS/bin/pcheck -f $pfile '"
out=$(/opt/HA/PS/bin/padmin -l 2>&1)
check "padmin -l shows the pcheck" bash -c "printf '%s\n' '$out' | diff - <(printf '%s\n' \
    'ipckey   = 0x1f000501' 'mypid    = $pcheck_pid' 'myname   = pcheck' 'pfile    = $pfile' 'message  = start')"
check "padmin -f pfile -c show param names the pfile" bash -c \
    "/opt/HA/PS/bin/padmin -f '$pfile' -c show param | grep -x 'PFILE *= $pfile'"
pkill -f "^$daemon"
check "killed, the stand-in is restarted by the sample-based restart script" wait_for 20 up 2
check "padmin -c shutdown -f PFILE (either order) is obeyed" /usr/sbin/padmin -c shutdown -f "$pfile"
# Exited: gone, or a zombie waiting for this shell to collect its status.
gone() { [ ! -e "/proc/$pcheck_pid" ] || [ "$(awk '{print $3}' "/proc/$pcheck_pid/stat" 2>/dev/null)" = Z ]; }
if wait_for 10 gone; then
    wait "$pcheck_pid"
    check "pcheck exited with status 0" test $? -eq 0
else
    bad "pcheck exits after shutdown"
fi
pcheck_pid=""
pkill -f "^$daemon"
unset PCHECK_RUNTIME_DIR PCHECK_SYSLOG_SOCKET

# --- upgrade: an edited conffile and the operator's files are kept ---------------------------

echo "# edited by the operator" >>"$sample/pfile"
sum_pfile=$(sha256sum "$pfile")
mkdir "$tmp/repack"
dpkg-deb -R "$deb" "$tmp/repack/root"
sed -i "s/^Version: .*/Version: ${version}-2/" "$tmp/repack/root/DEBIAN/control"
dpkg-deb --root-owner-group -b "$tmp/repack/root" "$tmp/repack/psctl_${version}-2.deb" >/dev/null
check "dpkg -i upgrades to ${version}-2 without a conffile prompt" bash -c \
    "dpkg -i '$tmp/repack/psctl_${version}-2.deb' </dev/null && dpkg -s psctl | grep -x 'Version: ${version}-2'"
check "the upgrade kept the edited sample and the operator's pfile" bash -c "
    tail -1 '$sample/pfile' | grep -x '# edited by the operator' && [ \"\$(sha256sum '$pfile')\" = '$sum_pfile' ]"

# --- dpkg -r keeps conffiles and the operator's files; dpkg -P removes only the package's ----

check "dpkg -r psctl" dpkg -r psctl
check "after -r: binaries, links, unit, docs gone" bash -c "
    for f in /usr/bin/psctl /opt/HA/PS/bin/pcheck /usr/sbin/pcheck /usr/sbin/padmin \
             /usr/lib/systemd/system/pcheck@.service /usr/share/psctl /usr/share/doc/psctl /opt/HA; do
        [ ! -e \"\$f\" ] && [ ! -L \"\$f\" ] || { echo \"\$f still there\"; exit 1; }
    done"
check "after -r: conffiles kept (the edited one as edited), operator's files kept" bash -c "
    dpkg -s psctl | grep -x 'Status: deinstall ok config-files' &&
    tail -1 '$sample/pfile' | grep -x '# edited by the operator' && [ -f '$sample/restart_crond.sh' ] &&
    [ \"\$(sha256sum '$pfile')\" = '$sum_pfile' ] && [ -x '$script' ] && [ -f /var/opt/HA/PS/log/pcheck_dump_cron ]"
check "dpkg -P psctl" dpkg -P psctl
check "after -P: samples gone, the operator's pfile, script and dump kept" bash -c "
    [ ! -e '$sample' ] && [ \"\$(sha256sum '$pfile')\" = '$sum_pfile' ] && [ -x '$script' ] &&
    [ -f /var/opt/HA/PS/log/pcheck_dump_cron ] && ! dpkg-query -W psctl 2>/dev/null"
# The operator removes their own files; a second install and purge must then leave the
# system exactly as found, directories included.
rm -f "$pfile" "$script" /var/opt/HA/PS/log/pcheck_dump_cron
check "dpkg -i, then dpkg -P at once" bash -c "dpkg -i '$deb' >/dev/null && dpkg -P psctl >/dev/null"
snapshot >"$tmp/after"
check "after purge the system is as found" diff "$tmp/before" "$tmp/after"

# --- the .rpm in a scratch root ------------------------------------------------------------

root=$tmp/rpmroot
# A scratch root with just what the scriptlets run (sh, install, rmdir and their libraries),
# so that %post and %postun run for real, chrooted by rpm.
mkdir -p "$root/usr/bin"
for l in bin sbin lib lib64; do
    if [ -L "/$l" ]; then
        mkdir -p "$root/$(readlink "/$l")"
        ln -s "$(readlink "/$l")" "$root/$l"
    fi
done
for b in /bin/sh /usr/bin/install /usr/bin/rmdir; do
    for f in "$b" $(ldd "$b" 2>/dev/null | grep -o '/[^ ]*'); do
        cp -L --parents "$f" "$root"
    done
done
files_in_root() { (cd "$root" && find . ! -type d | sed 's|^\.||' | grep -v "^$(rpm --eval '%{_dbpath}')/" | sort); }
files_in_root >"$tmp/rpmroot.base"
# --nodeps: the scratch root's rpm database is empty (no glibc package to satisfy libc.so.6).
check "rpm -i --root installs the .rpm in a scratch root" rpm -i --root "$root" --nodeps "$rpmfile"
check "rpm -qa | grep psctl (guide 3.1 step 2)" bash -c \
    "rpm --root '$root' -qa | grep -x 'psctl-${version}-1.$(uname -m)'"
check "rpm -V: every file as packaged" rpm --root "$root" -V --nodeps psctl
files_in_root | comm -23 - "$tmp/rpmroot.base" >"$tmp/rpmroot.files"
check "the scratch root gained exactly the package's files" diff "$tmp/rpm.files" "$tmp/rpmroot.files"
check "%post made conf/bin and log, mode 755" bash -c "
    [ \"\$(stat -c '%a' '$root/var/opt/HA/PS/conf/bin')\" = 755 ] && [ \"\$(stat -c '%a' '$root/var/opt/HA/PS/log')\" = 755 ]"
check "the rpm-installed pcheck runs" bash -c \
    "'$root/opt/HA/PS/bin/pcheck' --version | grep -x 'pcheck $want_version'"
echo "# edited" >>"$root/var/opt/HA/PS/conf/src/SG_sample/pfile"
check "rpm -e: files gone, the edited sample kept as .rpmsave, empty conf/bin and log removed" bash -c "
    rpm -e --root '$root' --nodeps psctl &&
    [ -f '$root/var/opt/HA/PS/conf/src/SG_sample/pfile.rpmsave' ] && [ ! -e '$root/usr/bin/psctl' ] &&
    [ ! -e '$root/opt/HA' ] && [ ! -e '$root/usr/share/psctl' ] && [ ! -e '$root/usr/share/doc/psctl' ] &&
    [ ! -e '$root/var/opt/HA/PS/conf/bin' ] && [ ! -e '$root/var/opt/HA/PS/log' ]"

finish
