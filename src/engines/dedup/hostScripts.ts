/**
 * The fixed scripts the host runs, as `sh -c SCRIPT wharf-dedup POOL ARG`: POSIX sh with cat,
 * gzip, tar and docker (plus mkdir/mv/rm, and sha256sum when present). Data reaches them only on
 * stdin; names are 64 hex digits checked on both sides, and globbing is off where lists are split.
 *
 * Host layout under POOL (format 2):
 *   segs/<sha256>      a segment: a tar of up to 128 chunks named 0, 1, ... (sha256 of the file)
 *   segs/<sha256>.idx  the segment's chunk names in member order (for chunks an interrupted sync left)
 *   plans/<fingerprint> how to rebuild an image: lines `SEGMENT MEMBERS` (e.g. `ab12.. 0-127`, `cd34.. 3 5-9`)
 *   plans/<fingerprint>.tags  one line `SAVED-AT IMAGE-ID TAG...`, so any machine's gc can name it
 *   orphans/got-<pid>  segments an interrupted sync delivered outside any plan
 *   incoming/<pid>/    one per running sync, with its pid so a dead one is recognised
 * One file per ~1 MiB segment, not per chunk: on ext4 here 21k chunk files cost ~4 s of system
 * time on a 200 MB image, and a shell step per chunk ~3 s more; a segment costs one file and one
 * `tar -xOf` when the image is rebuilt. Format 1 folders (chunks/, recipes/) are left alone.
 */
export const REQUIRED_TOOLS = ['cat', 'gzip', 'tar', 'docker', 'mkdir', 'mv', 'rm'] as const;

/** The pool folder, and $H: the pattern of a 64-hex name, built here so it travels once (~40 bytes, not 320 per use). */
const PRELUDE = "P=${1:-$HOME/.cache/wharf/pool}\nH='[0-9a-f]'; H=$H$H$H$H$H$H$H$H; H=$H$H$H$H$H$H$H$H\n";
const HEX64 = '$H';

/** Scripts travel in every exec request: indentation is for reading here, not for the wire. */
function compact(script: string): string {
  return script.replace(/^[ \t]+/gm, '');
}

/**
 * Tools, pool folders, what dead syncs left (their segments are kept: a tar member is listed only
 * when the next one starts or tar ended well; with sha256sum each is checked against its name),
 * the plans of the fingerprints on stdin it holds (up to a blank line), the orphan
 * segments with their chunk lists, and the id of $2 in the host's engine. The first part of SYNC.
 */
const PREPARE = `missing=
for t in ${REQUIRED_TOOLS.join(' ')}; do command -v "$t" >/dev/null 2>&1 || missing="$missing $t"; done
if [ -n "$missing" ]; then echo "missing:$missing"; exit 3; fi
S=no; if command -v sha256sum >/dev/null 2>&1; then S=yes; fi
echo "sha256sum:$S"
mkdir -p "$P/segs" "$P/incoming" "$P/plans" "$P/orphans" || exit 4
cd "$P" || exit 4
for d in incoming/*; do
  [ -d "$d" ] || continue
  p=; [ -f "$d/.pid" ] && read -r p < "$d/.pid"
  if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then continue; fi
  if [ -f "$d/.got" ]; then
    while IFS= read -r s; do
      case $s in ${HEX64}) ;; *) continue ;; esac
      [ -f "$d/$s" ] && [ -f "$d/$s.idx" ] || continue
      if [ $S = yes ]; then set -- $(sha256sum < "$d/$s"); [ "$1" = "$s" ] || continue; fi
      mv -f "$d/$s.idx" "$d/$s" segs/ && echo "$s"
    done < "$d/.got" > "orphans/got-\${d#incoming/}"
  fi
  rm -rf "$d"
done
for f in plans/.new.*; do [ -f "$f" ] || continue; kill -0 "\${f##*.}" 2>/dev/null || rm -f "$f"; done
while IFS= read -r f && [ -n "$f" ]; do case $f in ${HEX64}) [ -f "plans/$f" ] && { echo "plan:$f"; cat "plans/$f"; } ;; esac; done
for f in orphans/*; do
  [ -f "$f" ] || continue
  while IFS= read -r s; do
    case $s in ${HEX64}) [ -f "segs/$s" ] && [ -f "segs/$s.idx" ] && { echo "orphan:$s"; cat "segs/$s.idx"; } ;; esac
  done < "$f"
done
printf 'image:'; docker image inspect --format '{{.Id}}' "$2" 2>/dev/null || echo
`;

/**
 * The whole sync in one session (each costs ~0.1 s to open here): PREPARE answers and prints
 * \`ready\`; the sender then writes \`go\` (anything else ends it) and the stream. Members arrive in this order: a segment's chunk list (<sha>.idx),
 * the segment (<sha>), and plan parts (p<n>) whose lines name segments already here; \`end\` holds
 * the recipe's fingerprint and its .tags line. Each plan line is rebuilt with \`tar -xOf\` into docker load while later
 * members are still on the wire, and appended to the new plan. $2 is the image (tag or id) whose
 * id is printed at the end.
 */
export const SYNC = compact(`${PRELUDE}${PREPARE}echo ready
read -r go || exit 0
[ "$go" = go ] || exit 0
trap '' PIPE
D=incoming/$$
R=plans/.new.$$
mkdir -p "$D" segs plans || exit 4
echo $$ > "$D/.pid"
# After our pid is written: either a starting gc sees it, or we see its lock (see GC).
if [ -d gc.lock ]; then g=; read -r g < gc.lock/pid 2>/dev/null; if [ -n "$g" ] && kill -0 "$g" 2>/dev/null; then rm -rf "$D"; echo "busy:gc"; exit 9; fi; fi
exec 3>&1
gzip -dc | { (cd "$D" && exec tar -xvf -); echo "tar:$?"; } | {
  set -f
  moves= cnt=0 prev= st= n=0 bad=0 piped=1 fin= meta=
  exec 5>"$R" 6>"$D/.got"
  flush() {
    if [ -n "$moves" ]; then mv -f $moves segs/ || { echo "wharf: moving segments failed" >&2; bad=3; }; fi
    moves= cnt=0
  }
  run() {
    s=$1; shift
    if [ -f "$D/$s" ]; then f=$D/$s; elif [ -f "segs/$s" ]; then f=segs/$s; else echo "missing:$s" >&3; [ $bad != 0 ] || bad=1; return; fi
    names=
    for x; do
      case $x in
        *[!0-9-]*|-*|*-|*-*-*) echo "badop" >&3; bad=2; return ;;
        *-*) i=\${x%-*} j=\${x#*-}; while [ $i -le $j ]; do names="$names $i"; i=$((i + 1)); done ;;
        *) names="$names $x" ;;
      esac
    done
    n=$((n + 1))
    [ $bad = 0 ] && [ $piped = 1 ] || return
    tar -xOf "$f" $names || { echo "tarfail:$s" >&3; piped=0; }
  }
  plan() {
    cat "$D/$1" >&5 || bad=3
    while read -r s r; do
      case $s in ${HEX64}) ;; *) echo "badop" >&3; bad=2; continue ;; esac
      run "$s" $r
    done < "$D/$1"
    rm -f "$D/$1"
  }
  member() {
    case $1 in
      ${HEX64}) moves="$moves $D/$1 $D/$1.idx"; echo "$1" >&6; cnt=$((cnt + 1)); [ $cnt -lt 32 ] || flush ;;
      ${HEX64}.idx) ;;
      p[0-9]*) plan "$1" ;;
      end) { read -r fin; read -r meta; } < "$D/end"; rm -f "$D/end" ;;
      *) rm -f "$D/$1" ;;
    esac
  }
  while IFS= read -r name; do
    case $name in tar:*) st=\${name#tar:}; continue ;; esac
    [ -z "$prev" ] || member "$prev"
    prev=$name
  done
  if [ -n "$prev" ]; then if [ "$st" = 0 ]; then member "$prev"; else rm -f "$D/$prev"; fi; fi
  flush
  echo "tar:$st bad:$bad lines:$n" >&3
  exec 5>&-
  set +f
  case $fin in ${HEX64}) if [ "$st" = 0 ] && [ $bad = 0 ]; then mv -f "$R" "plans/$fin" && { [ -z "$meta" ] || printf '%s\n' "$meta" > "plans/$fin.tags"; } && rm -f orphans/* && : > "$D/.got" && echo "recipe:$fin" >&3; fi ;; esac
  rm -f "$R"
} | docker load
echo "load:$?"
exec 6>&-
[ -s "$D/.got" ] && mv -f "$D/.got" "orphans/got-$$"
rm -rf "$D"
printf 'id:'; docker image inspect --format '{{.Id}}' "$2" 2>/dev/null || echo
`);

/** With sha256sum: the digest of each listed segment (it must equal the name). */
export const SUMS = compact(`${PRELUDE}cd "$P/segs" || exit 4
set --
while IFS= read -r h; do if [ -f "$h" ]; then set -- "$@" "$h"; else echo "missing $h"; fi; if [ $# -ge 64 ]; then sha256sum -- "$@"; set --; fi; done
if [ $# -gt 0 ]; then sha256sum -- "$@"; fi
`);

/** Without sha256sum: the listed segments come back as a tar and are hashed here. */
export const PULL = compact(`${PRELUDE}cd "$P/segs" || exit 4
set --
while IFS= read -r h; do [ -f "$h" ] || continue; set -- "$@" "$h"; [ $# -lt 64 ] || { tar -cf - -- "$@"; set --; }; done
[ $# -eq 0 ] || tar -cf - -- "$@"
`);

/** Drops the listed segments (damaged ones, before they are sent again). */
export const REMOVE = compact(`${PRELUDE}cd "$P/segs" || exit 4
while IFS= read -r h; do rm -f "$h" "$h.idx"; done
`);

/**
 * Garbage collection: drops the plans listed on stdin, then every segment no plan and no orphan
 * list names (and the format 1 folders). It holds gc.lock and refuses while a sync runs; a sync
 * refuses while it holds the lock (each checks the other after announcing itself).
 */
export const GC = compact(`${PRELUDE}cd "$P" || exit 4
if ! mkdir gc.lock 2>/dev/null; then
  g=; read -r g < gc.lock/pid 2>/dev/null
  if [ -n "$g" ] && kill -0 "$g" 2>/dev/null; then echo "busy:gc"; exit 9; fi
  rm -rf gc.lock; mkdir gc.lock || exit 9
fi
echo $$ > gc.lock/pid
trap 'rm -rf gc.lock gc.marks' EXIT
for d in incoming/*; do
  [ -f "$d/.pid" ] || continue
  read -r p < "$d/.pid"
  if kill -0 "$p" 2>/dev/null; then echo "busy:sync"; exit 9; fi
done
while IFS= read -r f; do case $f in ${HEX64}) [ -f "plans/$f" ] && rm -f "plans/$f" "plans/$f.tags" && echo "dropped:$f" ;; esac; done
rm -rf gc.marks; mkdir gc.marks || exit 4
for f in plans/${HEX64}; do
  [ -f "$f" ] || continue
  while read -r s r; do case $s in ${HEX64}) : > "gc.marks/$s" ;; esac; done < "$f"
done
for f in orphans/*; do
  [ -f "$f" ] || continue
  while IFS= read -r s; do case $s in ${HEX64}) : > "gc.marks/$s" ;; esac; done < "$f"
done
for f in segs/${HEX64}; do
  [ -f "$f" ] || continue
  [ -f "gc.marks/\${f#segs/}" ] && continue
  rm -f "$f" "$f.idx" && echo "freed:\${f#segs/}"
done
for f in segs/*.idx plans/*.tags; do [ -f "$f" ] && [ ! -f "\${f%.*}" ] && rm -f "$f"; done
[ -d chunks ] && rm -rf chunks recipes && echo "format1:removed"
for f in plans/${HEX64}; do [ -f "$f" ] && echo "kept:\${f#plans/}"; done
exit 0
`);

/** The fingerprints of the plans the host holds, each with its .tags line when it has one. */
export const PLANS = compact(`${PRELUDE}cd "$P" 2>/dev/null || exit 0
for f in plans/${HEX64}; do [ -f "$f" ] || continue; m=; [ -f "$f.tags" ] && read -r m < "$f.tags"; echo "recipe:\${f#plans/} $m"; done
exit 0
`);
