#!/usr/bin/env bash
# make-clips.sh: regenerate the media clips committed under testdata/clips/.
#
# Usage:
#   testdata/make-clips.sh            # make every clip listed in CLIPS below
#   testdata/make-clips.sh vp8 opus   # make only the named clips
#
# The clips come from ffmpeg's synthetic sources, so no outside media is
# needed and the content is known:
#
#   video  testsrc2 (moving colour pattern; burned-in timecode and frame
#          number in the top-left corner), 640x360 at 30 fps, 10 s.
#   audio  a mono mix of a steady 440 Hz tone, a linear chirp from 200 Hz
#          to 2 kHz over the 10 s, and a 50 ms 1 kHz beep at the start of
#          every second. The beeps line up with video frames 0, 30, 60, ...
#          so audio/video sync can be measured later.
#
# Requirements: bash, ffmpeg built with libvpx and libopus (Debian's
# ffmpeg package has both). Set FFMPEG=/path/to/ffmpeg to use another one.
#
# Idempotent: every run rewrites the same files (outputs are written to a
# temporary file and renamed into place, so an interrupted run never leaves
# a half-written clip). Encoders run single-threaded with bitexact flags and
# no metadata, so the same ffmpeg build gives byte-identical files; another
# ffmpeg/libvpx/libopus version may produce different, equally valid bytes.
#
# Adding a codec: write a make_<name> function that calls encode with the
# output path and the ffmpeg arguments, and add <name> to CLIPS (or run it
# by name). Keep the total size of testdata/clips/ under 3 MB: the clips
# are committed and embedded into the binary (see clips.go).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out="${here}/clips"
ffmpeg_bin="${FFMPEG:-ffmpeg}"

# Clips made when no names are given on the command line.
CLIPS=(vp8 opus vp9 h264 av1 vp8q vp8h)

# Shared parameters of every clip.
DURATION=10        # seconds
VIDEO_SIZE=640x360
VIDEO_FPS=30
AUDIO_RATE=48000   # Hz; Opus always runs at 48 kHz on the wire
MAX_TOTAL_BYTES=$((3 * 1024 * 1024))

video_source() {
	echo "testsrc2=size=${VIDEO_SIZE}:rate=${VIDEO_FPS}:duration=${DURATION}"
}

audio_source() {
	local tone='0.25*sin(2*PI*440*t)'
	# Linear chirp: phase = 2*PI*(f0*t + k/2*t^2), f0 = 200 Hz, k = 180 Hz/s.
	local chirp='0.25*sin(2*PI*(200*t+90*t*t))'
	local beep='0.3*sin(2*PI*1000*t)*lt(mod(t,1),0.05)'
	# The expression is quoted because it contains commas (filtergraph syntax).
	echo "aevalsrc=exprs='${tone}+${chirp}+${beep}':sample_rate=${AUDIO_RATE}:channel_layout=mono:duration=${DURATION}"
}

# encode OUTPUT FFMPEG-ARGS...: run ffmpeg into a temporary file next to
# OUTPUT and rename it into place when ffmpeg succeeds. The temporary name
# starts with a dot, so go:embed never picks up a leftover one.
encode() {
	local dst=$1
	shift
	local tmp
	tmp="$(dirname "${dst}")/.$(basename "${dst}").tmp"
	rm -f "${tmp}"
	"${ffmpeg_bin}" -hide_banner -loglevel error -nostdin -y \
		"$@" \
		-map_metadata -1 -fflags +bitexact -threads 1 \
		"${tmp}"
	mv -f "${tmp}" "${dst}"
	echo "wrote ${dst#"${here}/"} ($(wc -c <"${dst}") bytes)"
}

# VP8 in IVF, tuned the way a WebRTC sender runs libvpx: realtime deadline,
# fastest preset, error resilient, no alt-ref/lookahead (so no hidden or
# reordered frames), CBR at 500 kbps, a keyframe exactly every 90 frames.
make_vp8() {
	encode "${out}/video-vp8.ivf" \
		-f lavfi -i "$(video_source)" \
		-c:v libvpx -pix_fmt yuv420p -flags:v +bitexact \
		-b:v 500k -minrate 500k -maxrate 500k -bufsize 500k \
		-g 90 -keyint_min 90 \
		-deadline realtime -cpu-used 8 -error-resilient 1 \
		-auto-alt-ref 0 -lag-in-frames 0 \
		-f ivf
}

# The other codecs of the codec matrix run at 300 kbps, so that each adds
# under 400 KB; the same realtime settings, keyframe every 90 frames.
make_vp9() {
	encode "${out}/video-vp9.ivf" \
		-f lavfi -i "$(video_source)" \
		-c:v libvpx-vp9 -pix_fmt yuv420p -flags:v +bitexact \
		-b:v 300k -minrate 300k -maxrate 300k -bufsize 300k \
		-g 90 -keyint_min 90 -row-mt 0 \
		-deadline realtime -cpu-used 8 -error-resilient 1 \
		-auto-alt-ref 0 -lag-in-frames 0 \
		-f ivf
}

# H.264 as an Annex-B byte stream: constrained baseline (profile-level-id
# 42e01f, what every WebRTC endpoint accepts), one slice per frame, no
# B-frames, an IDR every 90 frames with SPS/PPS repeated before it.
make_h264() {
	encode "${out}/video-h264.h264" \
		-f lavfi -i "$(video_source)" \
		-c:v libx264 -pix_fmt yuv420p -flags:v +bitexact \
		-profile:v baseline -level 3.1 -tune zerolatency -preset veryfast \
		-b:v 300k -maxrate 300k -bufsize 300k -bf 0 \
		-g 90 -keyint_min 90 -sc_threshold 0 \
		-x264-params slices=1:repeat-headers=1:aud=0 \
		-bsf:v h264_mp4toannexb -f h264
}

# AV1 in IVF with libaom in realtime mode.
make_av1() {
	encode "${out}/video-av1.ivf" \
		-f lavfi -i "$(video_source)" \
		-c:v libaom-av1 -pix_fmt yuv420p -flags:v +bitexact \
		-b:v 300k -minrate 300k -maxrate 300k -bufsize 300k \
		-g 90 -keyint_min 90 -usage realtime -cpu-used 8 \
		-lag-in-frames 0 -row-mt 0 -tiles 1x1 \
		-f ivf
}

# Simulcast: the lower two layers of a three-layer VP8 simulcast whose top
# layer ("f") is video-vp8.ivf. "q" is quarter size (320x180, 120 kbps),
# "h" half-ish (480x270, 250 kbps). Same source, same keyframe positions.
make_vp8_layer() {
	local name=$1 size=$2 rate=$3
	encode "${out}/video-vp8-${name}.ivf" \
		-f lavfi -i "$(video_source)" -vf "scale=${size}" \
		-c:v libvpx -pix_fmt yuv420p -flags:v +bitexact \
		-b:v "${rate}" -minrate "${rate}" -maxrate "${rate}" -bufsize "${rate}" \
		-g 90 -keyint_min 90 \
		-deadline realtime -cpu-used 8 -error-resilient 1 \
		-auto-alt-ref 0 -lag-in-frames 0 \
		-f ivf
}
make_vp8q() { make_vp8_layer q 320:180 120k; }
make_vp8h() { make_vp8_layer h 480:270 250k; }

# Opus in Ogg: 48 kHz mono, 20 ms frames (one frame per packet), 32 kbps.
# Constrained VBR: unconstrained VBR spends about 60 kbps on pure tones.
make_opus() {
	encode "${out}/audio-opus.ogg" \
		-f lavfi -i "$(audio_source)" \
		-c:a libopus -flags:a +bitexact \
		-b:a 32k -vbr constrained -frame_duration 20 -application audio \
		-f ogg
}

main() {
	command -v "${ffmpeg_bin}" >/dev/null || {
		echo "make-clips.sh: ${ffmpeg_bin} not found (apt-get install ffmpeg)" >&2
		exit 1
	}
	mkdir -p "${out}"

	local names=("$@")
	if [[ ${#names[@]} -eq 0 ]]; then
		names=("${CLIPS[@]}")
	fi
	local name
	for name in "${names[@]}"; do
		if ! declare -F "make_${name}" >/dev/null; then
			echo "make-clips.sh: unknown clip ${name} (known: ${CLIPS[*]})" >&2
			exit 2
		fi
		"make_${name}"
	done

	local total
	total=$(cat "${out}"/* | wc -c)
	echo "total ${total} bytes in ${out#"${here}/"}/"
	if ((total > MAX_TOTAL_BYTES)); then
		echo "make-clips.sh: clips total ${total} bytes, over the ${MAX_TOTAL_BYTES} byte budget" >&2
		exit 1
	fi
}

main "$@"
