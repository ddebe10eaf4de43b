// Package video stylizes videos: it probes the input with ffprobe, decodes
// it with ffmpeg to raw RGB frames, runs them through a Processor on the
// generic pipeline, and encodes an MP4 with the source's audio. Every ffmpeg
// and ffprobe invocation of a stylizing run lives here; the only other one
// is configs/demo's, which makes the demo clip from a picture.
package video
