# shellcheck shell=bash
# Sourced by scripts/local-*.sh: install Debian packages if missing, without starting their services.

# apt_ensure PKG... : installs the packages that are not installed yet (noninteractive).
apt_ensure() {
  local p need=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
  done
  ((${#need[@]})) || return 0
  if [[ $(id -u) != 0 ]]; then
    echo "missing Debian packages: ${need[*]} (run this script as root once, or: sudo apt-get install -y ${need[*]})" >&2
    return 1
  fi
  echo "[apt] $(date +%T) installing: ${need[*]}"
  # Maintainer scripts call invoke-rc.d / deb-systemd-invoke to start the packaged services
  # (memcached, clamav-daemon, clamav-freshclam, swift-*). We run our own instances on our own
  # ports and config, so deny every service start with policy-rc.d (exit 101 = "action forbidden").
  # Only if the machine has none yet; ours is removed again afterwards.
  local own_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\n# temporary, written by haul scripts/lib-apt.sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    own_policy=1
  fi
  local rc=0
  (
    export DEBIAN_FRONTEND=noninteractive
    # -o DPkg::Lock::Timeout: wait for a concurrent apt/dpkg instead of failing at once.
    apt-get -o DPkg::Lock::Timeout=300 update -qq &&
      apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${need[@]}" </dev/null >/dev/null
  ) || rc=$?
  ((own_policy)) && rm -f /usr/sbin/policy-rc.d
  if ((rc)); then echo "[apt] installing ${need[*]} failed (exit $rc)" >&2; return "$rc"; fi
  echo "[apt] $(date +%T) installed: ${need[*]}"
}

# pid_is PIDFILE PATTERN : the PID recorded in PIDFILE is alive (not a zombie) and its command line
# contains PATTERN, so a recycled PID of some other program is never taken for ours.
pid_is() {
  local p
  p=$(cat "$1" 2>/dev/null) || return 1
  [[ $p =~ ^[0-9]+$ ]] || return 1
  tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -qF -- "$2" || return 1
  # state is the field after "(comm)"; comm itself may contain spaces
  [[ "$(sed -E 's/^.*\) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f1)" != Z ]]
}

# port_open PORT : something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
