# %postun: after the last version is erased ($1 = 0), remove the package's directories when
# they are empty: cargo-generate-rpm cannot make the package own directories (its `dir`
# assets fail in 0.21.1), so rpm leaves them behind. Then tell systemd the unit has gone.
# rpm itself removes the files and the unedited samples (an edited one is kept as .rpmsave);
# the operator's pfiles, restart scripts and pcheck's dumps stay, and so do their directories.
if [ "$1" -eq 0 ]; then
    for d in /opt/HA/PS/bin /opt/HA/PS /opt/HA \
             /var/opt/HA/PS/conf/bin /var/opt/HA/PS/log /var/opt/HA/PS/conf/src/SG_sample \
             /var/opt/HA/PS/conf/src /var/opt/HA/PS/conf /var/opt/HA/PS /var/opt/HA \
             /usr/share/psctl/examples /usr/share/psctl /usr/share/doc/psctl; do
        if [ -d "$d" ]; then
            rmdir --ignore-fail-on-non-empty "$d"
        fi
    done
    if [ -d /run/systemd/system ]; then
        systemctl --system daemon-reload >/dev/null 2>&1 || :
    fi
fi
