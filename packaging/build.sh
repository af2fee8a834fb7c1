#!/usr/bin/env bash
# Build the store terminal's Debian package: packaging/dist/pos-terminal_<version>_<arch>.deb
#
#   bash packaging/build.sh            (or: make package)
#
# Steps: a private build venv with this checkout installed as a wheel (not editable) and PyInstaller; a
# one-folder bundle that carries Python and every dependency (Qt included); then the Debian tree around
# it (/opt/pos-terminal, /usr/bin/pos-terminal, the systemd unit, the udev rule, the .desktop entry, the
# maintainer scripts) packed with dpkg-deb. Needs python3 (>= 3.11) with venv, and dpkg-deb.
# Environment: PYTHON (default python3), POS_PACKAGE_COMPRESSION (xz, the default, or gzip / none).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build="$here/build"
dist="$here/dist"
python=${PYTHON:-python3}
compression=${POS_PACKAGE_COMPRESSION:-xz}

for tool in "$python" dpkg-deb; do
  command -v "$tool" >/dev/null || { echo "build.sh: $tool is missing (apt-get install python3-venv dpkg-dev)" >&2; exit 2; }
done
started=$(date +%s)
mkdir -p "$build" "$dist"

echo "== build venv"
if [ ! -x "$build/venv/bin/python" ]; then
  "$python" -m venv "$build/venv"
fi
"$build/venv/bin/pip" install -q --upgrade pip
"$build/venv/bin/pip" install -q "pyinstaller>=6.3"
# A real (non-editable) install, so the bundle holds exactly what a wheel of this checkout holds.
"$build/venv/bin/pip" install -q --force-reinstall --no-deps "$root"
"$build/venv/bin/pip" install -q "$root"
# The translations compiled for gettext into the installed package (beside their .po, named by its hash), so
# the bundle carries them and needs no Babel at run time. From $build: the checkout must not be on the path.
(cd "$build" && "$build/venv/bin/python" -m pos_app.i18n compile >/dev/null)
version=$("$build/venv/bin/python" -c 'import pos_app; print(pos_app.__version__)')
arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)

echo "== bundle (PyInstaller, one folder)"
rm -rf "$build/pyinstaller" "$build/bundle"
(cd "$build" && "$build/venv/bin/pyinstaller" --noconfirm --clean --log-level WARN --onedir \
    --name pos-terminal --distpath "$build/bundle" --workpath "$build/pyinstaller" --specpath "$build/pyinstaller" \
    --collect-submodules pos_app --collect-submodules drivers --collect-submodules ui \
    --collect-submodules offline_queue --collect-data pos_app \
    --exclude-module tkinter --exclude-module pytest --exclude-module hypothesis --exclude-module pytestqt \
    --exclude-module babel \
    "$here/entry.py")
bundle="$build/bundle/pos-terminal"
"$bundle/pos-terminal" --version >/dev/null   # the bundle runs on the build machine before it is packed

echo "== debian tree"
tree="$build/deb"
rm -rf "$tree"
install -d "$tree/DEBIAN" "$tree/opt" "$tree/usr/bin" "$tree/lib/systemd/system" "$tree/lib/udev/rules.d" \
  "$tree/usr/share/applications" "$tree/usr/share/icons/hicolor/scalable/apps" "$tree/usr/lib/pos-terminal" \
  "$tree/usr/share/doc/pos-terminal" "$tree/etc/pos-terminal"
cp -a "$bundle" "$tree/opt/pos-terminal"
install -m 0755 "$here/kiosk/pos-terminal-wrapper" "$tree/usr/bin/pos-terminal"
install -m 0644 "$here/systemd/pos-terminal.service" "$tree/lib/systemd/system/"
install -m 0644 "$here/udev/70-pos-terminal-scanners.rules" "$tree/lib/udev/rules.d/"
install -m 0644 "$here/desktop/pos-terminal.desktop" "$tree/usr/share/applications/"
install -m 0644 "$here/desktop/pos-terminal.svg" "$tree/usr/share/icons/hicolor/scalable/apps/"
install -m 0755 "$here/kiosk/pos-terminal-kiosk" "$tree/usr/lib/pos-terminal/"
install -m 0644 "$here/kiosk/environment" "$tree/etc/pos-terminal/environment"
install -m 0644 "$here/README.md" "$tree/usr/share/doc/pos-terminal/README.packaging.md"
install -m 0644 "$root/README.md" "$tree/usr/share/doc/pos-terminal/README.md"
for script in preinst postinst prerm postrm; do
  install -m 0755 "$here/debian/$script" "$tree/DEBIAN/$script"
done
echo "/etc/pos-terminal/environment" > "$tree/DEBIAN/conffiles"
size_kb=$(du -sk --exclude=DEBIAN "$tree" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size_kb/" "$here/debian/control.in" > "$tree/DEBIAN/control"

echo "== dpkg-deb ($compression)"
out="$dist/pos-terminal_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Z"$compression" --build "$tree" "$out" >/dev/null
echo "built $out ($(du -h "$out" | cut -f1), installed size $((size_kb / 1024)) MB) in $(( $(date +%s) - started )) s"
