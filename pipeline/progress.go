package pipeline

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Progress reports items done out of a total: a progress bar (done/total,
// items/s, ETA) when the writer is a terminal, plain periodic lines when it
// is not (CI logs), nothing when quiet.
type Progress struct {
	mu      sync.Mutex
	label   string
	unit    string
	total   int64
	done    int64
	start   time.Time
	last    time.Time
	every   time.Duration
	w       io.Writer
	bar     *progressbar.ProgressBar
	quiet   bool
	finishd bool
}

// ProgressOptions configures NewProgress. The zero value writes to stderr.
type ProgressOptions struct {
	Label string        // e.g. "stylize clip.mp4"
	Unit  string        // e.g. "frames", "tiles"
	Total int64         // -1 or 0 when unknown
	Quiet bool          // print nothing
	W     io.Writer     // default os.Stderr
	Every time.Duration // plain-line period when not a terminal; default 5 s
	// TTY forces the bar on (true) or off (false); nil detects it.
	TTY *bool
}

// NewProgress starts a progress report.
func NewProgress(o ProgressOptions) *Progress {
	if o.W == nil {
		o.W = os.Stderr
	}
	if o.Every <= 0 {
		o.Every = 5 * time.Second // frequent enough for a CI log, rare enough not to flood it
	}
	if o.Unit == "" {
		o.Unit = "items"
	}
	p := &Progress{label: o.Label, unit: o.Unit, total: o.Total, w: o.W, quiet: o.Quiet, every: o.Every, start: time.Now()}
	p.last = p.start
	if o.Quiet {
		return p
	}
	tty := false
	if o.TTY != nil {
		tty = *o.TTY
	} else if f, ok := o.W.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	if tty {
		max := o.Total
		if max <= 0 {
			max = -1 // spinner: progressbar refuses a zero maximum
		}
		p.bar = progressbar.NewOptions64(max,
			progressbar.OptionSetWriter(o.W),
			progressbar.OptionSetDescription(o.Label),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString(o.Unit),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

// SetTotal changes the total once it is known.
func (p *Progress) SetTotal(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total = n
	if p.bar != nil && n > 0 {
		p.bar.ChangeMax64(n)
	}
}

// SetLabel changes the label (e.g. to show a loss as it falls).
func (p *Progress) SetLabel(label string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.label = label
	if p.bar != nil {
		p.bar.Describe(label)
	}
}

// Add records n more items done.
func (p *Progress) Add(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if p.quiet {
		return
	}
	if p.bar != nil {
		_ = p.bar.Add64(n)
		return
	}
	if now := time.Now(); now.Sub(p.last) >= p.every {
		p.last = now
		fmt.Fprintln(p.w, p.lineLocked(now))
	}
}

// Done is the number of items recorded so far.
func (p *Progress) Done() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// Elapsed is the time since the report started.
func (p *Progress) Elapsed() time.Duration { return time.Since(p.start) }

func (p *Progress) lineLocked(now time.Time) string {
	el := now.Sub(p.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(p.done) / el
	}
	if p.total > 0 {
		eta := "?"
		if rate > 0 {
			eta = (time.Duration(float64(p.total-p.done)/rate) * time.Second).Round(time.Second).String()
		}
		return fmt.Sprintf("%s: %d/%d %s (%.0f%%), %.2f %s/s, ETA %s", p.label, p.done, p.total, p.unit,
			100*float64(p.done)/float64(p.total), rate, p.unit, eta)
	}
	return fmt.Sprintf("%s: %d %s, %.2f %s/s", p.label, p.done, p.unit, rate, p.unit)
}

// Finish ends the report with a summary line (unless quiet).
func (p *Progress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finishd {
		return
	}
	p.finishd = true
	if p.quiet {
		return
	}
	if p.bar != nil {
		_ = p.bar.Finish()
	}
	fmt.Fprintln(p.w, p.lineLocked(time.Now()))
}
