# Sourced by scripts/bench.sh (it sets bin, cache, size_mib, repeats, image, zst, bundle and
# the measure, rss and drop_caches helpers). Installs from http:// on 127.0.0.1 against the same
# bundle installed from a file: nginx and python's http.server serve the .tsb; goosebit serves
# only .swu, so its row is compared with the file install of the same .swu. curl -o /dev/null of
# each URL is the wire's own speed. Targets (issue 12): URL wall time <= 1.15 x the file
# install's, peak RSS <= the file install's + 4 MiB, from 256 MiB to 2 GiB images
# (URL_RSS_SIZES, default "2048").

# A device with one raw slot class, rootfs, that takes the compatible string "bench".
fresh_bench_device() {
  rm -rf "$cache/benchdev"
  "$bin" sim init "$cache/benchdev" --keyring "$cache/pki/keyring.pem" --compatible bench >/dev/null
  python3 - "$cache/benchdev/system.toml" <<'PY'
import sys
path = sys.argv[1]
kept, skipping = [], False
# Drop every slot class but rootfs: a table runs until the next header.
for line in open(path).read().splitlines():
    if line.startswith("["):
        skipping = line.startswith("[slots.") and line != "[slots.rootfs]"
    if not skipping:
        kept.append(line)
open(path, "w").write("\n".join(kept) + "\n")
PY
}
export -f fresh_bench_device

# The same rootfs image as a .swu twinslot installs (device "twinslot:rootfs") and goosebit
# accepts (a semantic version, hardware-compatibility at the top).
swu_tw=$cache/bench-${size_mib}M.swu
if [ ! -f "$swu_tw" ]; then
  swudir=$(mktemp -d)
  cp "$zst" "$swudir/rootfs.img.zst"
  cat > "$swudir/sw-description" <<SWU
software =
{
    version = "1.0.$size_mib";
    hardware-compatibility = [ "bench" ];
    images: (
      { filename = "rootfs.img.zst"; type = "raw"; device = "twinslot:rootfs"; compressed = "zstd";
        sha256 = "$(sha256sum "$zst" | cut -d' ' -f1)"; }
    );
};
SWU
  openssl cms -sign -in "$swudir/sw-description" -out "$swudir/sw-description.sig" -signer "$cache/pki/signer.pem" \
    -inkey "$cache/pki/signer.key" -certfile "$cache/pki/signer-chain.pem" -outform DER -nosmimecap -binary
  (cd "$swudir" && printf 'sw-description\nsw-description.sig\nrootfs.img.zst\n' | cpio -o -H crc --quiet) > "$swu_tw"
  rm -rf "$swudir"
fi

www=$cache/www
rm -rf "$www" && mkdir -p "$www"
ln "$bundle" "$www/bench.tsb" 2>/dev/null || cp "$bundle" "$www/bench.tsb"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }

nginx_dir=$(mktemp -d)
nginx_port=$(free_port)
cat > "$nginx_dir/nginx.conf" <<NGINX
worker_processes 1;
pid $nginx_dir/nginx.pid;
error_log $nginx_dir/error.log;
events { worker_connections 64; }
http {
    access_log off;
    sendfile on;
    client_body_temp_path $nginx_dir/body;
    proxy_temp_path $nginx_dir/proxy;
    fastcgi_temp_path $nginx_dir/fastcgi;
    uwsgi_temp_path $nginx_dir/uwsgi;
    scgi_temp_path $nginx_dir/scgi;
    server { listen 127.0.0.1:$nginx_port; root $www; }
}
NGINX
/usr/sbin/nginx -p "$nginx_dir" -c "$nginx_dir/nginx.conf" -g 'daemon off;' &
nginx_pid=$!
python_port=$(free_port)
python3 -m http.server "$python_port" --bind 127.0.0.1 --directory "$www" >/dev/null 2>&1 &
python_pid=$!
wait_port "$nginx_port" && wait_port "$python_port"

# goosebit: upload the .swu, register a device, assign it, and take the artifact's download link.
goosebit_dir=$(mktemp -d)
gb() { /opt/twinslot-test/goosebit-venv/bin/python scripts/goosebit.py "$@"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
goosebit_url=$(gb start --dir "$goosebit_dir" | json 'd["url"]')
software=$(gb upload --dir "$goosebit_dir" "$swu_tw" | json 'd["id"]')
ddi=$goosebit_url/DEFAULT/controller/v1/bench-device
config_href=$(curl -sS --noproxy '*' "$ddi" | json 'd["_links"]["configData"]["href"]')
curl -sS --noproxy '*' -X PUT -H 'Content-Type: application/json' -o /dev/null \
  -d '{"mode":"merge","data":{"hw_boardname":"default","hw_revision":"bench","sw_version":"0.0.1"}}' "$config_href"
gb assign --dir "$goosebit_dir" --device bench-device --software "$software" >/dev/null
deployment=$(curl -sS --noproxy '*' "$ddi" | json 'd["_links"]["deploymentBase"]["href"]')
goosebit_swu=$(curl -sS --noproxy '*' "$deployment" |
  json 'd["deployment"]["chunks"][0]["artifacts"][0]["_links"]["download"]["href"]')

stop_servers() {
  kill "$nginx_pid" "$python_pid" 2>/dev/null || true
  gb stop --dir "$goosebit_dir" >/dev/null 2>&1 || true
  wait "$nginx_pid" "$python_pid" 2>/dev/null || true
  rm -rf "$nginx_dir" "$goosebit_dir"
}
trap stop_servers EXIT

nginx_tsb=http://127.0.0.1:$nginx_port/bench.tsb
python_tsb=http://127.0.0.1:$python_port/bench.tsb
export nginx_tsb python_tsb goosebit_swu swu_tw bundle
install_on() { echo "'$bin' install $1 --config '$cache/benchdev/system.toml'"; }
# The processes that serve each row, for their CPU time: nginx's worker (not its master), the
# http.server process, goosebit's uvicorn.
nginx_workers=$(pgrep -P "$nginx_pid" | tr '\n' ' ')
goosebit_pid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$goosebit_dir/server.json")
# user + system clock ticks of these processes, in seconds.
server_cpu() {
  local ticks=0 pid
  for pid in "$@"; do ticks=$((ticks + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done
  echo "$ticks / $(getconf CLK_TCK)" | bc -l
}
declare -A url_seconds
# name@command@serving pids
url_rows=(
  "install FILE .tsb@$(install_on "'$bundle'")@"
  "install URL .tsb, nginx@$(install_on "'$nginx_tsb'")@$nginx_workers"
  "install URL .tsb, http.server@$(install_on "'$python_tsb'")@$python_pid"
  "curl .tsb, nginx@curl -sS --noproxy '*' -o /dev/null '$nginx_tsb'@$nginx_workers"
  "curl .tsb, http.server@curl -sS --noproxy '*' -o /dev/null '$python_tsb'@$python_pid"
  "install FILE .swu@$(install_on "'$swu_tw'")@"
  "install URL .swu, goosebit@$(install_on "'$goosebit_swu'")@$goosebit_pid"
  "curl .swu, goosebit@curl -sS --noproxy '*' -o /dev/null '$goosebit_swu'@$goosebit_pid"
)
# Peak RSS in KiB and CPU seconds (user + system) of one more run: on a busy machine the CPU
# time tells what the wall time cannot, since a URL install shares the cores with its server.
usage() { /usr/bin/time -f '%M %U %S' bash -c "$1" 2>&1 >/dev/null | tail -1; }
printf '\n%-30s %10s %10s %10s %10s %10s\n' "URL installs (${size_mib} MiB image)" "seconds" "MB/s" "RSS MiB" \
  "CPU s" "server CPU"
for row in "${url_rows[@]}"; do
  name=${row%%@*}
  rest=${row#*@}
  cmd=${rest%@*}
  servers=${rest##*@}
  s=$(measure "$cmd" "fresh_bench_device; drop_caches")
  url_seconds[$name]=$s
  fresh_bench_device
  drop_caches
  # shellcheck disable=SC2086 # a list of pids
  before=$(server_cpu $servers)
  read -r r user system <<< "$(usage "$cmd")"
  # shellcheck disable=SC2086
  served=$(echo "$(server_cpu $servers) - $before" | bc -l)
  url_seconds[$name rss]=$r
  url_seconds[$name cpu]=$(echo "$user + $system + $served" | bc -l)
  printf '%-30s %10.3f %10.0f %10.1f %10.2f %10.2f\n' "$name" "$s" "$(echo "$size_mib * 1.048576 / $s" | bc -l)" \
    "$(echo "$r / 1024" | bc -l)" "$(echo "$user + $system" | bc -l)" "$served"
done

# URL install against the file install, and against the floor no client can beat on this
# machine: the slowest stage — the file install, the server as curl sees it, or the CPU time the
# install and its server need together spread over every core (on loopback they share the
# cores, which a device and a remote server never do) — and its peak RSS against the file
# install's.
cores=$(nproc)
check() {
  local name=$1 file=$2 wire=$3
  local floor
  floor=$(echo "a=${url_seconds[$file]}; b=${url_seconds[$wire]}; c=${url_seconds[$name cpu]} / $cores
    m=a; if (b > m) m=b; if (c > m) m=c; m" | bc -l)
  printf '%-32s %5.2f x file, %5.2f x floor %.3f s (<= 1.15)  %+5.1f MiB RSS (<= +4)\n' "$name" \
    "$(echo "${url_seconds[$name]} / ${url_seconds[$file]}" | bc -l)" \
    "$(echo "${url_seconds[$name]} / $floor" | bc -l)" "$floor" \
    "$(echo "(${url_seconds[$name rss]} - ${url_seconds[$file rss]}) / 1024" | bc -l)"
}
echo
echo "floor = max(file install, curl from the server, (install + server CPU s) / $cores cores)"
check "install URL .tsb, nginx" "install FILE .tsb" "curl .tsb, nginx"
check "install URL .tsb, http.server" "install FILE .tsb" "curl .tsb, http.server"
check "install URL .swu, goosebit" "install FILE .swu" "curl .swu, goosebit"

# Peak RSS by image size, file against nginx: flat means the download adds a constant.
printf '\n%-30s %10s %10s %10s\n' "peak RSS by image size" "file MiB" "URL MiB" "URL-file"
for mib in ${URL_RSS_SIZES:-2048}; do
  big=$cache/bench-sweep-${mib}M.tsb
  if [ ! -f "$big" ]; then
    # The first 256 MiB of the rootfs-like image, then zeros: quick to make and to compress.
    head -c $((256 << 20)) "$image" > "$cache/sweep.img"
    [ "$mib" -gt 256 ] && head -c $(((mib - 256) << 20)) /dev/zero >> "$cache/sweep.img"
    "$bin" bundle create --out "$big" --compatible bench --version 1 --image rootfs="$cache/sweep.img" \
      --cert "$cache/pki/signer.pem" --key "$cache/pki/signer.key" --chain "$cache/pki/signer-chain.pem" >/dev/null
    rm -f "$cache/sweep.img"
  fi
  ln -f "$big" "$www/sweep.tsb"
  fresh_bench_device
  file_rss=$(rss "$(install_on "'$big'")")
  fresh_bench_device
  url_rss=$(rss "$(install_on "'http://127.0.0.1:$nginx_port/sweep.tsb'")")
  printf '%-30s %10.1f %10.1f %+10.1f\n' "install ${mib} MiB" "$(echo "$file_rss / 1024" | bc -l)" \
    "$(echo "$url_rss / 1024" | bc -l)" "$(echo "($url_rss - $file_rss) / 1024" | bc -l)"
done
rm -rf "$cache/benchdev"
