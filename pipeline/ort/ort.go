// Package ort keeps onnxruntime behind a small surface: finding and loading
// the shared library once, and sessions created once per model and device.
// Nothing else in the project imports onnxruntime_go.
package ort

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"

	ortgo "github.com/yalue/onnxruntime_go"
)

// LibEnv names the environment variable that points at libonnxruntime.
const LibEnv = "STYLIZE_ORT_LIB"

// libName is the file the npm package onnxruntime-node ships for linux/x64.
const libName = "libonnxruntime.so.1"

// InstallHint says how to get the library; it ends every "not found" error.
const InstallHint = "run `make deps` in the stylize source tree (it unpacks onnxruntime-node@1.24.1's " +
	"bin/napi-v6/linux/x64/libonnxruntime.so.1 into .cache/onnxruntime), or set " + LibEnv +
	" to an onnxruntime >= 1.24 shared library"

var (
	initOnce sync.Once
	initErr  error
	libPath  string
)

// ErrNoLibrary means no onnxruntime library could be found.
var ErrNoLibrary = errors.New("onnxruntime library not found")

// candidates lists where the library is looked for, in order: $STYLIZE_ORT_LIB,
// the project cache next to the binary (bin/../.cache/onnxruntime), the
// project cache above the working directory (tests run in package folders),
// the user cache, then the system paths.
func candidates() []string {
	var c []string
	if p := os.Getenv(LibEnv); p != "" {
		c = append(c, p)
		return c // an explicit setting is the only candidate: no silent fallback
	}
	if exe, err := os.Executable(); err == nil {
		exe, _ = filepath.EvalSymlinks(exe)
		c = append(c, filepath.Join(filepath.Dir(exe), "..", ".cache", "onnxruntime", libName))
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			c = append(c, filepath.Join(d, ".cache", "onnxruntime", libName))
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if home, err := os.UserCacheDir(); err == nil {
		c = append(c, filepath.Join(home, "stylize", "onnxruntime", libName))
	}
	for _, d := range []string{"/usr/local/lib", "/usr/lib", "/usr/lib/x86_64-linux-gnu", "/usr/lib64"} {
		c = append(c, filepath.Join(d, libName), filepath.Join(d, "libonnxruntime.so"))
	}
	return c
}

// FindLibrary returns the path of the onnxruntime library that Init would load.
func FindLibrary() (string, error) {
	cs := candidates()
	for _, p := range cs {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return filepath.Clean(p), nil
		}
	}
	if p := os.Getenv(LibEnv); p != "" {
		return "", fmt.Errorf("%w: %s=%s does not exist; %s", ErrNoLibrary, LibEnv, p, InstallHint)
	}
	return "", fmt.Errorf("%w (looked in .cache/onnxruntime, the user cache and /usr/lib); %s", ErrNoLibrary, InstallHint)
}

// Init loads the library and creates the onnxruntime environment, once per
// process. Later calls return the first call's result.
func Init() error {
	initOnce.Do(func() {
		if runtime.GOOS != "linux" {
			initErr = fmt.Errorf("onnxruntime: only linux is supported by this build (GOOS=%s)", runtime.GOOS)
			return
		}
		p, err := FindLibrary()
		if err != nil {
			initErr = err
			return
		}
		libPath = p
		ortgo.SetSharedLibraryPath(p)
		if err := ortgo.InitializeEnvironment(ortgo.WithLogLevelFatal()); err != nil {
			initErr = fmt.Errorf("onnxruntime library %s: %w (stylize needs onnxruntime >= 1.24; %s)", p, err, InstallHint)
			return
		}
		_ = ortgo.DisableTelemetry()
	})
	return initErr
}

// LibraryPath is the library Init loaded ("" before a successful Init).
func LibraryPath() string { return libPath }

// Version is the onnxruntime version string of the loaded library.
func Version() string {
	if Init() != nil {
		return ""
	}
	return ortgo.GetVersion()
}

// Device names an execution provider choice.
type Device string

// The devices `--device` accepts.
const (
	CPU      Device = "cpu"
	CUDA     Device = "cuda"
	TensorRT Device = "tensorrt"
	Auto     Device = "auto" // TensorRT, else CUDA, else CPU, reported
)

// ParseDevice checks a --device value.
func ParseDevice(s string) (Device, error) {
	switch d := Device(strings.ToLower(s)); d {
	case "", CPU:
		return CPU, nil
	case CUDA, TensorRT, Auto:
		return d, nil
	}
	return "", fmt.Errorf("device %q: want cpu, cuda, tensorrt or auto", s)
}

// SessionOptions configure a session. The zero value is CPU with
// onnxruntime's own thread count.
type SessionOptions struct {
	Device   Device
	Threads  int // intra-op threads; 0 lets onnxruntime choose (one per core)
	DeviceID int // GPU index for cuda/tensorrt
}

// AfterGPUSession, when set, runs after a CUDA or TensorRT session is
// created. The CUDA provider installs its own signal handlers over Go's
// (onnxruntime_go #140), so main uses this hook to install its Ctrl-C
// handling again.
var AfterGPUSession func()

// Session is one loaded model, safe for concurrent Run calls.
type Session struct {
	s       *ortgo.DynamicAdvancedSession
	Inputs  []string
	Outputs []string
	Device  Device // the provider actually used (auto resolved)
}

// NewSession creates a session for the serialized model.
// Asking for a provider the library lacks fails with an error naming it;
// only Device Auto falls back (to the next provider, down to CPU).
func NewSession(name string, model []byte, inputs, outputs []string, o SessionOptions) (*Session, error) {
	if err := Init(); err != nil {
		return nil, err
	}
	try := []Device{o.Device}
	if o.Device == Auto {
		try = []Device{TensorRT, CUDA, CPU}
	}
	if o.Device == "" {
		try = []Device{CPU}
	}
	var errs []string
	for _, d := range try {
		s, err := newSession(model, inputs, outputs, o, d)
		if err == nil {
			if d != CPU && AfterGPUSession != nil {
				AfterGPUSession()
			}
			return &Session{s: s, Inputs: inputs, Outputs: outputs, Device: d}, nil
		}
		if o.Device != Auto {
			return nil, fmt.Errorf("model %s: %w", name, err)
		}
		errs = append(errs, err.Error())
	}
	return nil, fmt.Errorf("model %s: no execution provider worked: %s", name, strings.Join(errs, "; "))
}

func newSession(model []byte, inputs, outputs []string, o SessionOptions, d Device) (*ortgo.DynamicAdvancedSession, error) {
	opts, err := ortgo.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	defer opts.Destroy()
	if o.Threads > 0 {
		if err := opts.SetIntraOpNumThreads(o.Threads); err != nil {
			return nil, fmt.Errorf("threads %d: %w", o.Threads, err)
		}
		if err := opts.SetInterOpNumThreads(1); err != nil {
			return nil, fmt.Errorf("threads %d: %w", o.Threads, err)
		}
	}
	// Idle intra-op threads otherwise spin, stealing the CPU from ffmpeg and
	// from the other stages (onnxruntime_go #10).
	if err := opts.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	switch d {
	case CUDA:
		co, err := ortgo.NewCUDAProviderOptions()
		if err != nil {
			return nil, providerError("cuda", err)
		}
		defer co.Destroy()
		if err := co.Update(map[string]string{"device_id": fmt.Sprint(o.DeviceID)}); err != nil {
			return nil, providerError("cuda", err)
		}
		if err := opts.AppendExecutionProviderCUDA(co); err != nil {
			return nil, providerError("cuda", err)
		}
	case TensorRT:
		to, err := ortgo.NewTensorRTProviderOptions()
		if err != nil {
			return nil, providerError("tensorrt", err)
		}
		defer to.Destroy()
		if err := to.Update(map[string]string{"device_id": fmt.Sprint(o.DeviceID)}); err != nil {
			return nil, providerError("tensorrt", err)
		}
		if err := opts.AppendExecutionProviderTensorRT(to); err != nil {
			return nil, providerError("tensorrt", err)
		}
	}
	s, err := ortgo.NewDynamicAdvancedSessionWithONNXData(model, inputs, outputs, opts)
	if err != nil {
		if d != CPU {
			return nil, providerError(string(d), err)
		}
		return nil, fmt.Errorf("onnxruntime cannot load it: %w", err)
	}
	return s, nil
}

func providerError(p string, err error) error {
	return fmt.Errorf("execution provider %s is not available in %s (the npm onnxruntime-node build is CPU-only; "+
		"install an onnxruntime-gpu 1.24 build with its CUDA/cuDNN libraries and point %s at it, or use --device cpu/auto): %v",
		p, libPath, LibEnv, err)
}

// Tensor is a float32 model input or output. (float16 models are wrapped
// with Cast nodes by pipeline/onnx, so the runtime only sees float32.)
type Tensor struct {
	Shape []int64
	F32   []float32
}

// Run runs the model on inputs (in the order of s.Inputs) and returns the
// outputs (in the order of s.Outputs), copied out so the result owns its
// memory.
func (s *Session) Run(inputs []Tensor) ([]Tensor, error) {
	return s.RunContext(context.Background(), inputs)
}

// RunContext is Run that a cancelled ctx terminates while it is in
// progress; it then fails with ctx's error.
func (s *Session) RunContext(ctx context.Context, inputs []Tensor) ([]Tensor, error) {
	var res []Tensor
	err := s.RunWithContext(ctx, inputs, func(outs []Tensor) error {
		res = make([]Tensor, len(outs))
		for i, o := range outs {
			c := make([]float32, len(o.F32))
			copy(c, o.F32)
			res[i] = Tensor{Shape: o.Shape, F32: c}
		}
		return nil
	})
	return res, err
}

// RunWith runs the model and hands the outputs to use without copying:
// their data belongs to onnxruntime and is valid only until use returns.
func (s *Session) RunWith(inputs []Tensor, use func(outs []Tensor) error) error {
	return s.RunWithContext(context.Background(), inputs, use)
}

// RunWithContext is RunWith that a cancelled ctx terminates while it is in
// progress (onnxruntime checks its terminate flag between nodes); the
// error then wraps ctx.Err().
func (s *Session) RunWithContext(ctx context.Context, inputs []Tensor, use func(outs []Tensor) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	vals := make([]ortgo.Value, len(inputs))
	defer func() {
		for _, v := range vals {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	for i, t := range inputs {
		v, err := toValue(t)
		if err != nil {
			return fmt.Errorf("input %s: %w", s.Inputs[i], err)
		}
		vals[i] = v
	}
	outs := make([]ortgo.Value, len(s.Outputs))
	defer func() {
		for _, o := range outs {
			// A failed conversion leaves a typed nil in the interface.
			if o != nil && !reflect.ValueOf(o).IsNil() {
				o.Destroy()
			}
		}
	}()
	if err := s.run(ctx, vals, outs); err != nil {
		return err
	}
	res := make([]Tensor, len(outs))
	for i, o := range outs {
		t, ok := o.(*ortgo.Tensor[float32])
		if !ok {
			return fmt.Errorf("output %s: unsupported type %T (want float32)", s.Outputs[i], o)
		}
		res[i] = Tensor{Shape: []int64(t.GetShape().Clone()), F32: t.GetData()}
	}
	return use(res)
}

// run runs the session with run options whose terminate flag is set when
// ctx is cancelled. A context that can never be cancelled runs without.
func (s *Session) run(ctx context.Context, vals, outs []ortgo.Value) error {
	if ctx.Done() == nil {
		return s.s.Run(vals, outs)
	}
	ro, err := ortgo.NewRunOptions()
	if err != nil {
		return fmt.Errorf("run options: %w", err)
	}
	var mu sync.Mutex // the terminate callback must not race Destroy
	done := false
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			_ = ro.Terminate()
		}
	})
	err = s.s.RunWithOptions(vals, outs, ro)
	stop()
	mu.Lock()
	done = true
	_ = ro.Destroy()
	mu.Unlock()
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("run terminated: %w", cerr)
	}
	return err
}

func toValue(t Tensor) (ortgo.Value, error) {
	return ortgo.NewTensor(ortgo.NewShape(t.Shape...), t.F32)
}

// Close releases the session.
func (s *Session) Close() error {
	if s == nil || s.s == nil {
		return nil
	}
	err := s.s.Destroy()
	s.s = nil
	return err
}
