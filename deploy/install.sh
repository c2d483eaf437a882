#!/usr/bin/env bash
# deploy/install.sh: installs air-demand on a Debian or Ubuntu server, as
# docs/operating.md ("Deploying on a fresh Ubuntu VPS") describes. Run it as
# root from the repository; run it again at any time (after an upgrade, after
# certbot, after changing [schedule]): it only makes what is missing and puts
# owners and modes right, and never touches a config or env file that exists.
#
#   sudo deploy/install.sh --domain demand.example.com --web-user me [BINARY]
#
# BINARY defaults to ./target/release/air-demand. What it does:
#   - the system user air-demand (no login, home /var/lib/air-demand);
#   - /usr/local/bin/air-demand, and the docs in /opt/air-demand;
#   - /etc/air-demand (root:air-demand 0750) with air-demand.toml (written by
#     `air-demand init` with the server's paths and [secrets] env_file,
#     root:air-demand 0640) and env, the secrets (from deploy/env.example,
#     air-demand:air-demand 0600);
#   - /var/lib/air-demand (air-demand 0750): the database, session, outbox;
#   - /var/www/air-demand (air-demand:www-data 2750, setgid): every file a
#     build writes there belongs to group www-data, so nginx reads the site
#     under the units' UMask=0027;
#   - the systemd units (timers in [schedule] timezone), not enabled;
#   - the nginx site: deploy/nginx.conf (HTTP, with certbot's ACME location)
#     until /etc/letsencrypt/live/DOMAIN/ holds a certificate, then
#     deploy/nginx-tls.conf; the password file for --web-user;
#   - systemctl daemon-reload, a restart of air-demand.service if it runs,
#     and `nginx -t` then a reload of nginx.
#
# Options:
#   --domain NAME    the site's host name (server_name, [site] base_url);
#                    on later runs it defaults to the installed site's.
#   --web-user NAME  add NAME to the site's password file if it is not there;
#                    the password comes from AIR_DEMAND_WEB_PASSWORD or is
#                    asked for on the terminal.
#   --no-reload      no systemctl and no nginx reload (for tests, images,
#                    machines where systemd is not running).
# Environment (tests/deploy.rs uses these to install into a directory):
#   AIR_DEMAND_ROOT       install under this directory; every path written
#                         into the config, units and nginx site follows it.
#   AIR_DEMAND_USER       the service user (default air-demand).
#   AIR_DEMAND_WEB_GROUP  nginx's group (default www-data).
set -euo pipefail

say() { printf 'install.sh: %s\n' "$*"; }
warn() { printf 'install.sh: warning: %s\n' "$*" >&2; }
die() {
    printf 'install.sh: error: %s\n' "$*" >&2
    exit 1
}

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
}

domain=${AIR_DEMAND_DOMAIN:-}
web_user=""
reload=1
binary=""
while [ $# -gt 0 ]; do
    case "$1" in
        --domain) [ $# -ge 2 ] || die "--domain needs a host name"; domain=$2; shift 2 ;;
        --domain=*) domain=${1#--domain=}; shift ;;
        --web-user) [ $# -ge 2 ] || die "--web-user needs a name"; web_user=$2; shift 2 ;;
        --web-user=*) web_user=${1#--web-user=}; shift ;;
        --no-reload) reload=0; shift ;;
        -h | --help) usage; exit 0 ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) [ -z "$binary" ] || die "one binary only (got $binary and $1)"; binary=$1; shift ;;
    esac
done

repo=$(cd "$(dirname "$0")/.." && pwd)
root=${AIR_DEMAND_ROOT:-}
root=${root%/}
service_user=${AIR_DEMAND_USER:-air-demand}
web_group=${AIR_DEMAND_WEB_GROUP:-www-data}
binary=${binary:-$repo/target/release/air-demand}

[[ $root =~ ^(/[A-Za-z0-9._-]+)*$ ]] || die "AIR_DEMAND_ROOT must be an absolute path of letters, digits and ._- (got '$root')"
[[ $service_user =~ ^[a-z_][a-z0-9_-]{0,30}$ ]] || die "AIR_DEMAND_USER is not a user name: '$service_user'"
[ "$(id -u)" -eq 0 ] || die "run as root (sudo $0 ...): it creates a system user and installs into /etc, /usr/local and /var"
{ [ -f "$binary" ] && [ -x "$binary" ]; } || die "no air-demand binary at $binary: run \`cargo build --release\` first, or name the binary"
for tool in useradd runuser install; do
    command -v "$tool" >/dev/null || die "$tool is missing (it is in every Debian and Ubuntu install)"
done
nginx=$(command -v nginx || true)
[ -n "$nginx" ] || nginx=/usr/sbin/nginx
[ -x "$nginx" ] || die "nginx is not installed: sudo apt-get install nginx"
getent group "$web_group" >/dev/null || die "there is no group $web_group (nginx's): install nginx first"

# Where everything goes. The files name these paths; with AIR_DEMAND_ROOT
# they are rewritten to it (see `render`).
bin=$root/usr/local/bin/air-demand
docs=$root/opt/air-demand
etc=$root/etc/air-demand
config=$etc/air-demand.toml
env_file=$etc/env
data=$root/var/lib/air-demand
www=$root/var/www/air-demand
site=$www/site
acme=$root/var/www/letsencrypt
units=$root/etc/systemd/system
nginx_sites=$root/etc/nginx/sites-available
nginx_enabled=$root/etc/nginx/sites-enabled
htpasswd=$root/etc/nginx/air-demand.htpasswd
letsencrypt=$root/etc/letsencrypt/live

# The installed site's server_name, when --domain is not given again.
if [ -z "$domain" ] && [ -f "$nginx_sites/air-demand" ]; then
    domain=$(awk '$1 == "server_name" { sub(/;$/, "", $2); print $2; exit }' "$nginx_sites/air-demand")
fi
[ -n "$domain" ] || die "--domain NAME is needed on the first run: the host name the site is served at (e.g. demand.example.com)"
[[ $domain =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]] || die "--domain must be a host name (got '$domain')"

# A shipped file with this machine's paths, user, domain and time zone.
render() {
    sed -E \
        -e "s#(^|[- =\"'/])(/usr/local/bin/air-demand|/opt/air-demand|/etc/air-demand|/var/lib/air-demand|/var/www/air-demand|/var/www/letsencrypt|/etc/nginx/air-demand.htpasswd|/etc/letsencrypt)#\\1$root\\2#g" \
        -e "s#^(User|Group)=air-demand\$#\\1=$service_user#" \
        -e "s#demand\\.example\\.com#$domain#g" \
        "$@"
}

# `[schedule] key` from the config as written (one line, quotes and comment
# removed), empty when the key is not there.
schedule_value() {
    awk -v key="$1" '
        /^[ \t]*\[/ { in_schedule = ($0 ~ /^[ \t]*\[schedule\][ \t]*(#.*)?$/) }
        in_schedule && $0 ~ "^[ \t]*" key "[ \t]*=" {
            value = $0
            sub(/^[^=]*=[ \t]*/, "", value)
            sub(/[ \t]*#[^"\]]*$/, "", value)
            print value
            exit
        }' "$config"
}

# 1. The user.
if getent passwd "$service_user" >/dev/null; then
    say "user $service_user exists"
else
    useradd --system --user-group --home-dir "$data" --no-create-home \
        --shell /usr/sbin/nologin --comment "air-demand" "$service_user"
    say "created the system user $service_user"
fi

# 2. The binary (replaced by a rename: a running one keeps its old file) and the docs.
install -d -m 0755 "$(dirname "$bin")" "$docs"
install -m 0755 -o root -g root "$binary" "$bin.new"
mv -f "$bin.new" "$bin"
install -m 0644 "$repo/README.md" "$docs/README.md"
cp -R "$repo/docs" "$docs/"
chmod -R u=rwX,go=rX "$docs/docs"
say "installed $bin ($("$bin" --version 2>/dev/null || echo "version unknown"))"

# 3. Directories. The site directory is setgid: what the service writes
# there (as $service_user, umask 0027) is group $web_group and readable by it.
install -d -o root -g "$service_user" -m 0750 "$etc"
install -d -o "$service_user" -g "$service_user" -m 0750 "$data"
install -d -o "$service_user" -g "$web_group" -m 2750 "$www"
install -d -m 0755 "$acme"
# An earlier install may have left a site nginx cannot read (group
# $service_user, mode 0640): give it to the web group.
chown -R "$service_user:$web_group" "$www"
find "$www" -type d -exec chmod g+rxs,o-rwx {} +
find "$www" -type f -exec chmod g+r,o-rwx {} +
say "directories: $etc, $data, $www (setgid, group $web_group)"

# 4. The config: `init`'s template with the server's paths, written once.
if [ -e "$config" ]; then
    say "keeping $config"
else
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    "$bin" --config "$scratch/air-demand.toml" init >/dev/null
    sed -E \
        -e "s#^path = \"data/air-demand.sqlite\"#path = \"$data/air-demand.sqlite\"#" \
        -e "s#^dir = \"site\"#dir = \"$site\"#" \
        -e "s#^base_url = \"https://demand.example.com\"#base_url = \"https://$domain\"#" \
        -e "s#^session_file = \"data/paraform_session.json\"#session_file = \"$data/paraform_session.json\"#" \
        -e "s#^outbox = \"data/outbox\"#outbox = \"$data/outbox\"#" \
        -e "s%^#? ?env_file = \"[^\"]*\"%env_file = \"$env_file\"%" \
        "$scratch/air-demand.toml" >"$scratch/server.toml"
    for key in "$data/air-demand.sqlite" "$site" "$data/paraform_session.json" "$data/outbox"; do
        grep -qF "\"$key\"" "$scratch/server.toml" || die "the init template changed: $key is not in it (update deploy/install.sh)"
    done
    install -o root -g "$service_user" -m 0640 "$scratch/server.toml" "$config"
    say "wrote $config: set [digest] to and from, and [schedule] timezone"
fi
chgrp "$service_user" "$config"
chmod g+r,o-rwx "$config"

# 5. The secrets: one mode everywhere, 0600, owned by the service user
# (systemd reads the file as root for the units; the binary reads it as the
# service user for manual runs, through [secrets] env_file).
if [ -e "$env_file" ]; then
    say "keeping $env_file"
else
    install -m 0600 "$repo/deploy/env.example" "$env_file"
    say "wrote $env_file from deploy/env.example: put the real SMTP_URL in it"
fi
chown "$service_user:$service_user" "$env_file"
chmod 0600 "$env_file"
# The service user can read the config and the secrets it names.
runuser -u "$service_user" -- "$bin" --config "$config" rules >/dev/null ||
    die "$service_user cannot use $config (the error is above)"

# 6. systemd units, the timers in [schedule] timezone.
timezone=$(schedule_value timezone | tr -d '"')
timezone=${timezone:-UTC}
[[ $timezone =~ ^[A-Za-z0-9_+/-]+$ ]] || die "[schedule] timezone in $config is not a zone name: $timezone"
install -d -m 0755 "$units"
for unit in air-demand.service air-demand-scrape.service air-demand-digest.service \
    air-demand-scrape.timer air-demand-digest.timer; do
    render -e "s#^(OnCalendar=.*[0-9]{2}:[0-9]{2}:[0-9]{2}) [A-Za-z0-9_+/-]+\$#\\1 $timezone#" \
        "$repo/deploy/$unit" >"$units/$unit.new"
    chmod 0644 "$units/$unit.new"
    mv -f "$units/$unit.new" "$units/$unit"
done
say "units in $units (timers in $timezone); air-demand.service is not enabled by this script"
# The timers encode the config's default times; `run` reads [schedule] itself.
same_schedule() { [ -z "$1" ] || [ "$(printf '%s' "$1" | tr -d ' \t')" = "$2" ]; }
scrape_times=$(schedule_value scrape)
digest_times=$(schedule_value digest)
if ! same_schedule "$scrape_times" '["05***","017***"]'; then
    warn "[schedule] scrape = $scrape_times, but air-demand-scrape.timer runs at 05:00 and 17:00: if you use the timers, \`systemctl edit air-demand-scrape.timer\` (OnCalendar= to clear, then your times with $timezone)"
fi
if ! same_schedule "$digest_times" '["06***"]'; then
    warn "[schedule] digest = $digest_times, but air-demand-digest.timer runs at 06:00: if you use the timers, \`systemctl edit air-demand-digest.timer\`"
fi

# 7. nginx: HTTP until the certificate exists, then HTTPS.
certificate=$letsencrypt/$domain
if [ -f "$certificate/fullchain.pem" ] && [ -f "$certificate/privkey.pem" ]; then
    template="nginx-tls.conf"
else
    template="nginx.conf"
fi
nginx_version=$("$nginx" -v 2>&1 | sed -n 's#.*nginx/\([0-9.]*\).*#\1#p')
render_nginx() {
    if [ "$(printf '%s\n' 1.25.1 "${nginx_version:-0}" | sort -V | head -n 1)" = 1.25.1 ]; then
        render "$repo/deploy/$1"
    else
        # Before 1.25.1, HTTP/2 is a flag of `listen`.
        render -e '/^[[:space:]]*http2 on;/d' \
            -e 's#^([[:space:]]*listen .*443 ssl);#\1 http2;#' "$repo/deploy/$1"
    fi
}
install -d -m 0755 "$nginx_sites" "$nginx_enabled"
render_nginx "$template" >"$nginx_sites/air-demand.new"
if [ -f "$nginx_sites/air-demand" ] &&
    ! cmp -s "$nginx_sites/air-demand" <(render_nginx nginx.conf) &&
    ! cmp -s "$nginx_sites/air-demand" <(render_nginx nginx-tls.conf); then
    cp -p "$nginx_sites/air-demand" "$nginx_sites/air-demand.bak"
    warn "$nginx_sites/air-demand had local changes: kept as air-demand.bak"
fi
chmod 0644 "$nginx_sites/air-demand.new"
mv -f "$nginx_sites/air-demand.new" "$nginx_sites/air-demand"
ln -sfn ../sites-available/air-demand "$nginx_enabled/air-demand"
say "nginx site $nginx_sites/air-demand from deploy/$template (nginx ${nginx_version:-unknown})"

if [ -n "$web_user" ]; then
    [[ $web_user =~ ^[A-Za-z0-9._@-]+$ ]] || die "--web-user must be a plain name (got '$web_user')"
    touch "$htpasswd"
    if awk -F: -v name="$web_user" '$1 == name { found = 1 } END { exit !found }' "$htpasswd"; then
        say "$web_user is already in $htpasswd"
    else
        command -v openssl >/dev/null || die "openssl is missing: sudo apt-get install openssl"
        if [ -n "${AIR_DEMAND_WEB_PASSWORD:-}" ]; then
            hash=$(printf '%s\n' "$AIR_DEMAND_WEB_PASSWORD" | openssl passwd -apr1 -stdin)
        else
            [ -t 0 ] || die "no terminal to ask the password of $web_user on: set AIR_DEMAND_WEB_PASSWORD"
            hash=$(openssl passwd -apr1)
        fi
        printf '%s:%s\n' "$web_user" "$hash" >>"$htpasswd"
        say "added $web_user to $htpasswd"
    fi
fi
if [ -f "$htpasswd" ]; then
    chown "root:$web_group" "$htpasswd"
    chmod 0640 "$htpasswd"
else
    warn "no password file $htpasswd yet (nginx answers 500 without it): run again with --web-user NAME"
fi

# 8. Tell systemd and nginx.
if [ "$reload" -eq 1 ]; then
    systemctl daemon-reload
    systemctl try-restart air-demand.service
    "$nginx" -t
    systemctl reload-or-restart nginx
    say "systemd and nginx reloaded"
else
    say "--no-reload: not telling systemd or nginx"
fi

if [ "$template" = nginx.conf ]; then
    say "next: the HTTPS certificate, then this script again:"
    say "  sudo apt-get install certbot && sudo certbot certonly --webroot -w /var/www/letsencrypt -d $domain --deploy-hook 'systemctl reload nginx'"
    say "  sudo $0"
else
    say "serving https://$domain/ with the certificate in $certificate"
fi
