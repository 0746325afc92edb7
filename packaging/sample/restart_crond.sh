#!/bin/sh
# Sample restart script for the sample pfile beside it (guide, section 3.2): copy it to
# /var/opt/HA/PS/conf/bin/ and make sure the copy is executable (`chmod +x`).
# pcheck runs it when crond has gone: stop first (to clean up after the dead process), start,
# and wait for each to finish. It must exit 0, or pcheck counts the restart as failed.
/etc/init.d/crond stop
/bin/sleep 5
/etc/init.d/crond start
/bin/sleep 5
exit 0
