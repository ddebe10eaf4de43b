//go:build unix

package tiles

import (
	"syscall"
	"time"
)

// cpuTime is the process's user + system CPU time so far (all threads,
// onnxruntime's included): a speed figure that a loaded machine distorts
// less than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
