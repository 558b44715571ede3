#!/bin/sh
# fetch06.sh DIR puts JeroMQ 0.6 (Debian trixie's libjeromq-java, which
# speaks ZMTP 3.0) and the jnacl it needs into DIR as jeromq.jar and
# jnacl.jar, without installing them: the system keeps bookworm's
# libjeromq-java (0.3.6, ZMTP 2.0), which the other JeroMQ tests need.
#
# apt reads trixie's main from the Debian mirror of this machine's own
# sources, into a directory of its own, and checks it with the Debian
# archive keyring; dpkg-deb unpacks the two packages there.
set -eu

dest=$1
version=0.6.0-1

uri=$(apt-get indextargets --format '$(REPO_URI)' 'Identifier: Packages' | grep -v -- -security | head -n 1)
if [ -z "$uri" ]; then
	echo "fetch06: no Debian mirror in apt's sources" >&2
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# apt downloads as its own user when run as root.
chmod 0755 "$tmp"
mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/debs" "$tmp/root"
chmod 0777 "$tmp/debs"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri trixie main" >"$tmp/sources.list"

apt() {
	apt-get -q \
		-o Dir::Etc::sourcelist="$tmp/sources.list" -o Dir::Etc::sourceparts=- \
		-o Dir::State::Lists="$tmp/lists" -o Dir::Cache="$tmp/cache" "$@"
}
apt update >/dev/null
(cd "$tmp/debs" && apt download "libjeromq-java=$version" libjnacl-java >/dev/null)
for deb in "$tmp"/debs/*.deb; do
	dpkg-deb -x "$deb" "$tmp/root"
done

mkdir -p "$dest"
cp -L "$tmp/root/usr/share/java/jeromq.jar" "$tmp/root/usr/share/java/jnacl.jar" "$dest/"
echo "fetch06: JeroMQ $version in $dest"
