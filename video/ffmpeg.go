package video

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"

	ffmpeg "github.com/u2takey/ffmpeg-go"
)

// How ffmpeg is used here. Command lines are built with ffmpeg-go (its
// Input/Output graph and KwArgs), but processes are run through the
// *exec.Cmd that Stream.Compile returns: its context is ours
// (ffmpeg.OutputContext), so cancelling the run kills the child, and we
// attach os pipes (StdoutPipe/StdinPipe) ourselves. os pipes have a kernel
// buffer and report EPIPE/EOF when the other side dies, so neither side
// can block forever the way an io.Pipe between two ffmpeg-go Run calls can.
// ffprobe is run with os/exec directly: ffmpeg-go's Probe takes no context
// and drops ffprobe's error text (see probe.go).

func init() {
	// ffmpeg-go logs every compiled command line unless told not to; this
	// is the package-wide switch that Stream.Silent(true) sets. Setting it
	// once here avoids a data race between concurrent runs.
	ffmpeg.LogCompiledCommand = false
}

// ErrNoFFmpeg means ffmpeg or ffprobe is not installed (not on PATH).
var ErrNoFFmpeg = errors.New("not found on PATH (install ffmpeg: apt-get install ffmpeg)")

// lookTools checks that ffmpeg and ffprobe can be run.
func lookTools() error {
	for _, name := range []string{"ffprobe", "ffmpeg"} {
		if _, err := exec.LookPath(name); err != nil {
			return fmt.Errorf("%s %w", name, ErrNoFFmpeg)
		}
	}
	return nil
}

// globalArgs quiet ffmpeg down to its error messages, which we keep.
var globalArgs = []string{"-nostdin", "-hide_banner", "-loglevel", "error"}

// compile builds the command for stream with ctx as its lifetime.
func compile(ctx context.Context, out *ffmpeg.Stream, extra ...string) *exec.Cmd {
	cmd := out.GlobalArgs(append(append([]string{}, globalArgs...), extra...)...).Compile()
	// Compile used the output stream's context; rebuild with ours to be
	// sure the child is tied to the run's context whatever ffmpeg-go does.
	c := exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	c.Env = cmd.Env
	c.WaitDelay = 5 * time.Second // don't hang on a stuck stderr after a kill
	return c
}

// stderrCap is how much of a child's stderr is kept for error messages:
// enough for ffmpeg's real complaint, bounded for a long run that logs a
// warning per frame.
const stderrCap = 8 << 10

// capBuffer keeps the first and the last stderrCap/2 bytes written to it.
type capBuffer struct {
	mu      sync.Mutex
	head    []byte
	tail    []byte
	dropped int64
}

func (b *capBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	if room := stderrCap/2 - len(b.head); room > 0 {
		k := min(room, len(p))
		b.head = append(b.head, p[:k]...)
		p = p[k:]
	}
	if len(p) == 0 {
		return n, nil
	}
	b.tail = append(b.tail, p...)
	if over := len(b.tail) - stderrCap/2; over > 0 {
		b.dropped += int64(over)
		b.tail = append(b.tail[:0], b.tail[over:]...)
	}
	return n, nil
}

// String is the kept text on one line: ffmpeg's "[demuxer @ 0x…]" prefixes
// dropped, repeated lines once, and at most the first two and last three
// distinct lines (the cause usually comes first, the fatal error last).
func (b *capBuffer) String() string {
	b.mu.Lock()
	s := string(b.head)
	if len(b.tail) > 0 {
		// The head was filled: drop its unfinished last line.
		if i := strings.LastIndexByte(s, '\n'); i >= 0 {
			s = s[:i+1]
		}
	}
	if b.dropped > 0 {
		// The tail starts inside a line: drop that part.
		tail := string(b.tail)
		if i := strings.IndexByte(tail, '\n'); i >= 0 {
			tail = tail[i+1:]
		}
		s += "\n…\n" + tail
	} else {
		s += string(b.tail)
	}
	b.mu.Unlock()
	lines := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	var keep []string
	seen := map[string]bool{}
	for _, l := range lines {
		l = strings.TrimSpace(ctxPrefix.ReplaceAllString(l, ""))
		if l == "" || seen[l] {
			continue
		}
		seen[l] = true
		keep = append(keep, l)
	}
	if len(keep) > 5 {
		keep = append(append(keep[:2:2], "…"), keep[len(keep)-3:]...)
	}
	for i := 1; i < len(keep); i++ {
		if keep[i] == "…" && keep[i-1] == "…" {
			keep = append(keep[:i], keep[i+1:]...)
			i--
		}
	}
	return strings.Join(keep, "; ")
}

// ctxPrefix matches ffmpeg's log context, "[mov,mp4,m4a @ 0x5560…] ".
var ctxPrefix = regexp.MustCompile(`\[[^\]]* @ 0x[0-9a-f]+\] *`)

// toolError wraps a failed child's error with its own words. A cancelled
// run reports the cancellation instead, since killing the child is what
// made it fail.
func toolError(ctx context.Context, what string, err error, stderr *capBuffer) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if msg := stderr.String(); msg != "" {
		return fmt.Errorf("%s: %w: %s", what, err, msg)
	}
	return fmt.Errorf("%s: %w", what, err)
}
