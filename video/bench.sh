#!/usr/bin/env bash
# Benchmarks for `stylize video` (issue 3), side by side on one clip:
#   1. pure inference: Σ model run time over all frames (from --report)
#   2. the full pipeline with that model: wall time (goal ≤ 1.05 × 1)
#   3. the naive way: ffmpeg → PNG files → `stylize image` per file →
#      ffmpeg back with the audio (goal ≥ 1.3 × slower than 2)
#   4. the pipeline with builtin:identity vs plain ffmpeg re-encoding with
#      the same encoder settings, whole clip (goal ≥ 0.9 × its fps)
#   5. peak RSS of `stylize video` for a 5 s and a 30 s clip (goal: within 10 %)
#   6. workers × threads: 1 worker with 2 ORT threads vs 2 workers with 1
#
# Usage: video/bench.sh [IN] [MODEL] [HEIGHT] [SECONDS]   (from the repo root,
# after `make build`). Defaults: ../shared BBB, la_muse, 144, 5.
# Prints a Markdown report on stdout; scratch files go to a temp folder.
set -euo pipefail
IN=${1:-../shared/media/video/bbb_480p_30s.mp4}
MODEL=${2:-../shared/models/la_muse.onnx}
H=${3:-144}
SECS=${4:-5}
BIN=${BIN:-bin/stylize}
SKIP=${SKIP:-} # space-separated parts to skip, e.g. "naive rss30"
TEMPORAL=${TEMPORAL:-off} # the per-frame pipeline (issue 3); TEMPORAL=auto measures it with temporal coherence
ENC=(-c:v libx264 -preset medium -crf 20 -pix_fmt yuv420p) # what stylize video uses by default
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
skip() { [[ " $SKIP " == *" $1 "* ]]; }
now() { date +%s.%N; }
calc() { python3 -c "print(round($1, 3))"; }
json() { python3 -c "import json,sys; print(json.load(open('$1'))['$2'])"; }
maxrss() { awk '/Maximum resident set size/ {print $6}' "$1"; }

W=$(python3 - "$IN" "$H" <<'PY'
import json, subprocess, sys
s = json.loads(subprocess.check_output(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "json", sys.argv[1]]))["streams"][0]
h = int(sys.argv[2]); print(max(2, 2 * round(h * s["width"] / s["height"] / 2)))
PY
)
echo "## stylize video benchmarks"
echo
echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load before start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- input: $IN, first $SECS s, output ${W}x$H; model $MODEL; encoder ${ENC[*]}"
echo

# 1 + 2 (and the 5 s RSS of 5)
t0=$(now)
/usr/bin/time -v -o "$T/time5" "$BIN" video --temporal "$TEMPORAL" -m "$MODEL" --height "$H" --duration "$SECS" --quiet --report "$T/r.json" -o "$T/pipe.mp4" "$IN"
t1=$(now)
wall=$(calc "$t1 - $t0")
frames=$(json "$T/r.json" frames)
infer=$(calc "$(json "$T/r.json" inference_seconds)")
run=$(calc "$(json "$T/r.json" seconds)")
rss5=$(maxrss "$T/time5")
echo "| # | measure | value |"
echo "|---|---|---|"
echo "| 1 | pure inference, Σ over $frames frames | ${infer} s ($(calc "$frames / $infer") fps) |"
echo "| 2 | pipeline wall, whole process (model load included) | ${wall} s; inside Stylize ${run} s → $(calc "$run / $infer") × (1) (goal ≤ 1.05), process $(calc "$wall / $infer") × |"

# 3: the naive way
if ! skip naive; then
	mkdir -p "$T/png" "$T/sty"
	t0=$(now)
	ffmpeg -nostdin -loglevel error -t "$SECS" -i "$IN" -vf "scale=$W:$H" "$T/png/%05d.png"
	for f in "$T"/png/*.png; do
		"$BIN" image -m "$MODEL" -o "$T/sty/$(basename "$f")" "$f"
	done
	fps=$(ffprobe -v error -select_streams v:0 -show_entries stream=avg_frame_rate -of csv=p=0 "$IN")
	ffmpeg -nostdin -loglevel error -framerate "$fps" -i "$T/sty/%05d.png" -t "$SECS" -i "$IN" -map 0:v -map '1:a?' "${ENC[@]}" -c:a copy -movflags +faststart "$T/naive.mp4"
	t1=$(now)
	naive=$(calc "$t1 - $t0")
	echo "| 3 | naive: PNGs + \`stylize image\` per frame + ffmpeg | ${naive} s → $(calc "$naive / $wall") × the pipeline's process wall (goal ≥ 1.3) |"
fi

# 4: identity pipeline vs plain ffmpeg, whole clip
if ! skip identity; then
	t0=$(now)
	"$BIN" video --temporal "$TEMPORAL" -m builtin:identity --height "$H" --quiet --report "$T/id.json" -o "$T/id.mp4" "$IN"
	t1=$(now)
	idwall=$(calc "$t1 - $t0")
	idframes=$(json "$T/id.json" frames)
	idin=$(calc "$(json "$T/id.json" seconds)")
	idinf=$(calc "$(json "$T/id.json" inference_seconds)")
	t0=$(now)
	ffmpeg -nostdin -loglevel error -i "$IN" -vf "scale=$W:$H" "${ENC[@]}" -c:a copy -movflags +faststart "$T/plain.mp4"
	t1=$(now)
	plain=$(calc "$t1 - $t0")
	echo "| 4 | identity pipeline vs plain ffmpeg, $idframes frames | pipeline ${idwall} s ($(calc "$idframes / $idwall") fps) vs ffmpeg ${plain} s ($(calc "$idframes / $plain") fps) → $(calc "$plain / $idwall") × (goal ≥ 0.9); inside Stylize ${idin} s of which identity inference Σ ${idinf} s |"
fi

# 5: peak RSS, 5 s vs whole clip
if ! skip rss30; then
	/usr/bin/time -v -o "$T/time30" "$BIN" video --temporal "$TEMPORAL" -m "$MODEL" --height "$H" --quiet --report "$T/r30.json" -o "$T/pipe30.mp4" "$IN"
	rss30=$(maxrss "$T/time30")
	f30=$(json "$T/r30.json" frames)
	s30=$(calc "$(json "$T/r30.json" seconds)")
	i30=$(calc "$(json "$T/r30.json" inference_seconds)")
	echo "| 5 | peak RSS, $frames vs $f30 frames | ${rss5} KiB vs ${rss30} KiB → $(calc "$rss30 / $rss5") × (goal within 1.10) |"
	echo "|   | (whole clip run: $f30 frames in ${s30} s, inference ${i30} s, $(calc "$s30 / $i30") ×) | |"
fi

# 6: workers × threads on this machine
if ! skip workers; then
	for wt in "1 2" "2 1" "2 2"; do
		set -- $wt
		"$BIN" video --temporal "$TEMPORAL" -m "$MODEL" --height "$H" --duration "$SECS" --workers "$1" --threads "$2" --quiet --report "$T/w.json" -o "$T/w.mp4" "$IN"
		echo "| 6 | --workers $1 --threads $2 | $(calc "$(json "$T/w.json" seconds)") s, $(calc "$(json "$T/w.json" fps)") fps, inference Σ $(calc "$(json "$T/w.json" inference_seconds)") s |"
	done
fi
echo
echo "- load after: $(cut -d' ' -f1-3 /proc/loadavg)"
