# %post (cargo-generate-rpm wraps it in /bin/sh). The directories an operator fills (the
# guide's section 3.2): pfiles and restart scripts in conf/bin, dump files in log. Made here,
# as in the .deb, because cargo-generate-rpm packages files only (its `dir` assets fail in
# 0.21.1); root-owned and writable by root alone, because pcheck runs as root what conf/bin
# holds. Then let systemd see a new or changed pcheck@.service (not enabled).
for d in /var/opt/HA/PS/conf/bin /var/opt/HA/PS/log; do
    if [ ! -d "$d" ]; then
        install -d -m 0755 -o 0 -g 0 "$d"
    fi
done
if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null 2>&1 || :
fi
