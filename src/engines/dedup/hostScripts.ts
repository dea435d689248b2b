/**
 * The fixed scripts the host runs, as `sh -c SCRIPT wharf-dedup POOL ARG`: POSIX sh with cat,
 * gzip, tar and docker (plus mkdir/mv/rm, and sha256sum when present). Data reaches them only on
 * stdin; names are 64 hex digits checked on both sides, and globbing is off where lists are split.
 *
 * Host layout under POOL: chunks/<sha256> (raw, so a load is `cat | docker load` with no gunzip),
 * recipes/<fingerprint>/<page> (128 names a page, so a reference reads at most one page to find
 * its start), orphans/<id> (chunks an interrupted sync left outside any recipe),
 * incoming/<pid>/ (one per running sync, with its pid so a dead one is recognised).
 */
export const REQUIRED_TOOLS = ['cat', 'gzip', 'tar', 'docker', 'mkdir', 'mv', 'rm'] as const;

export const PAGE = 128;
const PRELUDE = 'P=${1:-$HOME/.cache/wharf/pool}\n';
const HEX64 = '[0-9a-f]'.repeat(64);

/**
 * Tools, pool folders, what dead syncs left (their chunks are kept: a tar member is listed only
 * when the next one starts or tar ended well, and verified by SHA-256 where sha256sum exists),
 * the recipes and orphan chunks the host holds, and the id of $2 in the host's engine.
 */
export const PREPARE = `${PRELUDE}missing=
for t in ${REQUIRED_TOOLS.join(' ')}; do command -v "$t" >/dev/null 2>&1 || missing="$missing $t"; done
if [ -n "$missing" ]; then echo "missing:$missing"; exit 3; fi
S=no; if command -v sha256sum >/dev/null 2>&1; then S=yes; fi
echo "sha256sum:$S"
mkdir -p "$P/chunks" "$P/incoming" "$P/recipes" "$P/orphans" || exit 4
cd "$P" || exit 4
for d in incoming/*; do
  [ -d "$d" ] || continue
  p=; [ -f "$d/.pid" ] && read -r p < "$d/.pid"
  if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then continue; fi
  [ -f "$d/.got" ] && mv -f "$d/.got" "orphans/got-\${d#incoming/}"
  if [ $S = yes ]; then
    ( cd "$d" || exit; set --
      for f in ${HEX64}; do [ -f "$f" ] || continue; set -- "$@" "$f"; [ $# -lt 256 ] || { sha256sum -- "$@"; set --; }; done
      [ $# -eq 0 ] || sha256sum -- "$@" ) |
    while read -r s f; do [ "$s" = "$f" ] && mv -f "$d/$f" chunks/ && echo "$f"; done > "orphans/sum-\${d#incoming/}"
  fi
  rm -rf "$d"
done
for d in recipes/.new.*; do [ -d "$d" ] || continue; kill -0 "\${d##*.}" 2>/dev/null || rm -rf "$d"; done
for d in recipes/${HEX64}; do [ -f "$d/0" ] && echo "recipe:\${d#recipes/}"; done
for f in orphans/*; do [ -f "$f" ] || continue; while IFS= read -r h; do [ -f "chunks/$h" ] && echo "have:$h"; done < "$f"; done
printf 'image:'; docker image inspect --format '{{.Id}}' "$2" 2>/dev/null || echo
echo "pool:$P"
`;

/**
 * Shared by SYNC and STORE: tar lists member N+1 (or ends) only after member N is whole, so
 * "listed and followed" means complete; after a failed tar the last listed one is dropped.
 */
const RECEIVE_HEAD = `cd "$P" || exit 4
trap '' PIPE
D=incoming/$$
mkdir -p "$D" chunks || exit 4
echo $$ > "$D/.pid"
exec 3>&1
gzip -dc | { (cd "$D" && exec tar -xvf -); echo "tar:$?"; } | {
  set -f
  moves= cnt=0 prev= st= n=0 list= bad=0 piped=1 base= fin=
  exec 6>"$D/.got"
`;
const RECEIVE_LOOP = `  while IFS= read -r name; do
    case $name in tar:*) st=\${name#tar:}; continue ;; esac
    [ -z "$prev" ] || member "$prev"
    prev=$name
  done
  if [ -n "$prev" ]; then if [ "$st" = 0 ]; then member "$prev"; else rm -f "$D/$prev"; fi; fi
  flush
  echo "tar:$st bad:$bad entries:$n" >&3
`;

/**
 * The whole sync in one pass: members arrive in recipe order (raw chunks the host lacks, ops that
 * reference chunks it has, \`end\` with the recipe's fingerprint); each entry is appended to the new
 * recipe and, in batches, cat into docker load while later members are still on the wire. $2 is
 * the image (tag or id) whose id is printed at the end.
 */
export const SYNC = `${PRELUDE}${RECEIVE_HEAD}  R=recipes/.new.$$
  mkdir -p "$R" || exit 4
  flush() {
    if [ -n "$list" ] && [ $bad = 0 ] && [ $piped = 1 ]; then cat $list || piped=0; fi
    if [ -n "$moves" ]; then mv -f $moves chunks/ || { echo "wharf: moving chunks failed" >&2; bad=3; }; fi
    list= moves= cnt=0
  }
  entry() {
    if [ -f "$D/$1" ]; then list="$list $D/$1"
    elif [ -f "chunks/$1" ]; then list="$list chunks/$1"
    else echo "missing:$1" >&3; [ $bad != 0 ] || bad=1; fi
    [ $((n % ${PAGE})) != 0 ] || exec 5>"$R/$((n / ${PAGE}))"
    echo "$1" >&5
    n=$((n + 1)) cnt=$((cnt + 1))
    [ $cnt -lt ${PAGE} ] || flush
  }
  copy() {
    j=$2 left=$3
    while [ "$left" -gt 0 ]; do
      pg=$((j / ${PAGE})) skip=$((j % ${PAGE})) got=0
      if [ -f "$1/$pg" ]; then
        while IFS= read -r h; do
          if [ $skip -gt 0 ]; then skip=$((skip - 1)); continue; fi
          entry "$h"; got=1 j=$((j + 1)) left=$((left - 1))
          [ $left -gt 0 ] || break
        done < "$1/$pg"
      fi
      if [ $got = 0 ]; then echo "badref:$1:$j" >&3; bad=2; return; fi
    done
  }
  ops() {
    while read -r a c; do
      case $a in
        @.) base=$R ;;
        @${HEX64}) base=recipes/\${a#@} ;;
        ${HEX64}) entry "$a" ;;
        *[!0-9]*|'') echo "badop" >&3; bad=2 ;;
        *) case $c in ''|*[!0-9]*) echo "badop" >&3; bad=2 ;; *) copy "$base" "$a" "$c" ;; esac ;;
      esac
    done < "$D/$1"
    rm -f "$D/$1"
  }
  member() {
    case $1 in
      ${HEX64}) moves="$moves $D/$1"; echo "$1" >&6; entry "$1" ;;
      r[0-9]*) ops "$1" ;;
      end) read -r fin < "$D/end"; rm -f "$D/end" ;;
      *) rm -f "$D/$1" ;;
    esac
  }
${RECEIVE_LOOP}  exec 5>&-
  set +f
  case $fin in ${HEX64}) if [ "$st" = 0 ]; then rm -rf "recipes/$fin" && mv "$R" "recipes/$fin" && rm -f orphans/* && : > "$D/.got" && echo "recipe:$fin" >&3; fi ;; esac
  rm -rf "$R"
} | docker load
echo "load:$?"
exec 6>&-
[ -s "$D/.got" ] && mv -f "$D/.got" "orphans/got-$$"
rm -rf "$D"
printf 'id:'; docker image inspect --format '{{.Id}}' "$2" 2>/dev/null || echo
`;

/** Chunks only (a repair): the same stream of raw members, kept in the pool, nothing loaded. */
export const STORE = `${PRELUDE}${RECEIVE_HEAD}  flush() {
    if [ -n "$moves" ]; then mv -f $moves chunks/ || { echo "wharf: moving chunks failed" >&2; exit 5; }; fi
    moves= cnt=0
  }
  member() {
    case $1 in
      ${HEX64}) moves="$moves $D/$1"; echo "$1" >&6; cnt=$((cnt + 1)); [ $cnt -lt ${PAGE} ] || flush ;;
      *) rm -f "$D/$1" ;;
    esac
  }
${RECEIVE_LOOP}}
exec 6>&-
[ -s "$D/.got" ] && mv -f "$D/.got" "orphans/got-$$"
rm -rf "$D"
`;

/** Rebuilds the archive from a stored recipe ($2) and loads it; prints the id of $3. */
export const LOAD = `${PRELUDE}cd "$P" || exit 4
R=recipes/$2
[ -f "$R/0" ] || { echo "wharf: no recipe $2 on this host" >&2; exit 8; }
set -f
{ i=0 list= cnt=0
  while [ -f "$R/$i" ]; do
    while IFS= read -r h; do
      list="$list chunks/$h" cnt=$((cnt + 1))
      if [ $cnt -ge ${PAGE} ]; then cat $list || { echo "wharf: cat failed" >&2; exit 7; }; list= cnt=0; fi
    done < "$R/$i"
    i=$((i + 1))
  done
  [ -z "$list" ] || cat $list || { echo "wharf: cat failed" >&2; exit 7; }
} | docker load
echo "load:$?"
printf 'id:'; docker image inspect --format '{{.Id}}' "$3" 2>/dev/null || echo
`;

/** With sha256sum: the digest of each listed chunk (raw, so it must equal the name). */
export const SUMS = `${PRELUDE}cd "$P/chunks" || exit 4
set --
while IFS= read -r h; do if [ -f "$h" ]; then set -- "$@" "$h"; else echo "missing $h"; fi; if [ $# -ge 256 ]; then sha256sum -- "$@"; set --; fi; done
if [ $# -gt 0 ]; then sha256sum -- "$@"; fi
`;

/** Without sha256sum: the listed chunks come back as a tar and are hashed here. */
export const PULL = `${PRELUDE}cd "$P/chunks" || exit 4
set --
while IFS= read -r h; do [ -f "$h" ] || continue; set -- "$@" "$h"; [ $# -lt 256 ] || { tar -cf - -- "$@"; set --; }; done
[ $# -eq 0 ] || tar -cf - -- "$@"
`;

export const REMOVE = `${PRELUDE}cd "$P/chunks" || exit 4
while IFS= read -r h; do rm -f "$h"; done
`;
