package video

import (
	"errors"
	"fmt"
	"os"
	"regexp"
)

// checkInput refuses a local input that cannot be a video: a missing file,
// a folder, an empty file. An image sequence pattern (frame_%04d.png, read
// by ffmpeg's image2 demuxer at 25 fps) passes when its first frame exists.
func checkInput(in string) error {
	st, err := os.Stat(in)
	switch {
	case errors.Is(err, os.ErrNotExist) && isSequence(in):
		return nil
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("input %s: no such file", in)
	case err != nil:
		return fmt.Errorf("input %s: %w", in, err)
	case st.IsDir():
		return fmt.Errorf("input %s: is a folder, want a video file", in)
	case st.Size() == 0:
		return fmt.Errorf("input %s: empty file (0 bytes)", in)
	}
	return nil
}

// sequenceVerb is the frame number in an image2 pattern: %d, %3d, %03d.
var sequenceVerb = regexp.MustCompile(`%0?\d*d`)

// isSequence reports whether in is an image sequence pattern with one
// frame number whose first frame exists; like ffmpeg's image2 demuxer, the
// first frame is numbered 0 to 4.
func isSequence(in string) bool {
	locs := sequenceVerb.FindAllStringSubmatchIndex(in, -1)
	if len(locs) != 1 {
		return false
	}
	l := locs[0]
	for n := range 5 {
		num := fmt.Sprintf(in[l[0]:l[1]], n)
		if st, err := os.Stat(in[:l[0]] + num + in[l[1]:]); err == nil && st.Mode().IsRegular() {
			return true
		}
	}
	return false
}
