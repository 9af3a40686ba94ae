#!/bin/sh
# `make run`: serve notifd on 127.0.0.1:8080 from var/notifd.db with the demo
# tenant. The admin key is made once, kept in var/admin.key (mode 600), and
# reused on later runs; NOTIFD_ADMIN_KEY overrides it.
set -eu
bin=${1:-build/notifd}
mkdir -p var
if [ -z "${NOTIFD_ADMIN_KEY:-}" ]; then
	if [ ! -s var/admin.key ]; then
		(umask 077 && od -An -N24 -tx1 /dev/urandom | tr -d ' \n' | sed 's/^/ndk_demo_/' > var/admin.key)
	fi
	NOTIFD_ADMIN_KEY=$(cat var/admin.key)
fi
export NOTIFD_ADMIN_KEY
: "${NOTIFD_DB:=var/notifd.db}"
: "${NOTIFD_LISTEN:=127.0.0.1:8080}"
export NOTIFD_DB NOTIFD_LISTEN
"$bin" demo
url="http://$NOTIFD_LISTEN"
cat <<MSG

notifd is starting on $url with the database $NOTIFD_DB.
Admin key (tenant "default"): $NOTIFD_ADMIN_KEY

Try it from another terminal:

  # native API: alice's notifications, newest first
  curl -s -H 'X-Key: $NOTIFD_ADMIN_KEY' $url/v1/targets/alice/notifications

  # NP6 face: alice's notifications routed in a date window, oldest first
  curl -s -H 'X-Key: $NOTIFD_ADMIN_KEY' '$url/targets/alice/notifications?start=2020-01-01T00%3A00%3A00Z&sort=asc'

  # Brightidea API3 face: the tenant's notifications, two per page
  curl -s -H 'Authorization: Bearer $NOTIFD_ADMIN_KEY' '$url/api3/notification?page=1&page_size=2'

Stop with Ctrl-C.

MSG
exec "$bin"
