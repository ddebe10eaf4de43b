package importer

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/pipeline/imageio"
	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/pipeline/onnx"
	"github.com/stylize/stylize/pipeline/ort"
	"github.com/stylize/stylize/pipeline/testenv"
	"github.com/stylize/stylize/pipeline/torch"
)

// tolerance is the bound on the difference to the shared graphs.
const tolerance = 1e-4

// picture reads a shared image scaled to the given long side, as a
// [1,3,H,W] tensor in 0..1.
func picture(t *testing.T, rel string, long int) ort.Tensor {
	t.Helper()
	img, err := imageio.Read(testenv.SharedFile(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	f := pipeline.FromImage(img)
	w, h := long, f.H*long/f.W
	if f.H > f.W {
		w, h = f.W*long/f.H, long
	}
	p := model.ResizePlanes(model.ToPlanes(f), f.W, f.H, w, h)
	for i := range p {
		p[i] /= 255
	}
	return ort.Tensor{Shape: []int64{1, 3, int64(h), int64(w)}, F32: p}
}

// run runs m (all its inputs and outputs, by name) on inputs.
func run(t *testing.T, m *onnx.Model, inputs map[string]ort.Tensor) map[string]ort.Tensor {
	t.Helper()
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var ins, outs []string
	var vals []ort.Tensor
	for _, v := range m.Inputs() {
		ins = append(ins, v.Name)
		vals = append(vals, inputs[v.Name])
	}
	for _, v := range m.Outputs() {
		outs = append(outs, v.Name)
	}
	s, err := ort.NewSession(m.Name, b, ins, outs, ort.SessionOptions{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.Run(vals)
	if err != nil {
		t.Fatalf("run %s: %v", m.Name, err)
	}
	got := map[string]ort.Tensor{}
	for i, o := range outs {
		got[o] = res[i]
	}
	return got
}

// compare runs the imported and the shared graph on the same inputs and
// checks that they have the same I/O and every output agrees within
// tolerance. It returns the outputs of the imported graph.
func compare(t *testing.T, imported *onnx.Model, sharedRel string, inputs map[string]ort.Tensor) map[string]ort.Tensor {
	t.Helper()
	want, err := onnx.Load(testenv.SharedFile(t, sharedRel))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := ioString(imported), ioString(want); a != b {
		t.Errorf("%s: I/O differ:\nimported %s\nshared   %s", sharedRel, a, b)
	}
	if a, b := imported.OpsetVersion(), want.OpsetVersion(); a != b {
		t.Errorf("%s: opset %d, shared %d", sharedRel, a, b)
	}
	got, ref := run(t, imported, inputs), run(t, want, inputs)
	for name, r := range ref {
		g := got[name]
		if !equalShape(g.Shape, r.Shape) {
			t.Errorf("%s: output %s has shape %v, shared %v", sharedRel, name, g.Shape, r.Shape)
			continue
		}
		d := maxAbsDiff(g.F32, r.F32)
		t.Logf("%s: %s %v max |Δ| = %.3g", sharedRel, name, g.Shape, d)
		if !(d <= tolerance) {
			t.Errorf("%s: output %s differs by up to %g (> %g)", sharedRel, name, d, tolerance)
		}
	}
	return got
}

func ioString(m *onnx.Model) string {
	s := ""
	for _, v := range m.Inputs() {
		s += " in:" + v.Name + v.ElemName() + dimsString(v.Dims)
	}
	for _, v := range m.Outputs() {
		s += " out:" + v.Name + v.ElemName() + dimsString(v.Dims)
	}
	return s
}

func dimsString(ds []onnx.Dim) string {
	s := "["
	for _, d := range ds {
		s += d.String() + ","
	}
	return s + "]"
}

func equalShape(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func maxAbsDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
		if a[i] != a[i] || b[i] != b[i] {
			return math.NaN()
		}
	}
	return d
}

func upstream(t testing.TB, rel string) string {
	t.Helper()
	return testenv.SharedFile(t, filepath.Join("upstream", rel))
}

func TestMicroASTMatchesShared(t *testing.T) {
	testenv.ORT(t)
	c, err := LoadMicroASTCheckpoints(upstream(t, "MicroAST"))
	if err != nil {
		t.Fatal(err)
	}
	style, err := MicroASTStyleModel(c)
	if err != nil {
		t.Fatal(err)
	}
	transfer, err := MicroASTTransferModel(c)
	if err != nil {
		t.Fatal(err)
	}
	long := 256
	if testing.Short() {
		long = 96
	}
	st := compare(t, style, "models/"+MicroASTStyleONNX, map[string]ort.Tensor{"style": picture(t, "media/images/la_muse.jpg", long)})
	in := map[string]ort.Tensor{"content": picture(t, "media/images/stata.jpg", long+2)} // not a multiple of 4
	for k, v := range st {
		in[k] = v
	}
	out := compare(t, transfer, "models/"+MicroASTTransferONNX, in)
	c0 := in["content"].Shape
	if s := out["stylized"].Shape; s[2] != (c0[2]+3)/4*4 || s[3] != (c0[3]+3)/4*4 {
		t.Errorf("stylized is %v for content %v, want 4⌈H/4⌉×4⌈W/4⌉", s, c0)
	}
}

func TestCDVGGMatchesShared(t *testing.T) {
	testenv.ORT(t)
	m, err := LoadCDVGG(upstream(t, "Collaborative-Distillation"))
	if err != nil {
		t.Fatal(err)
	}
	long := 256
	if testing.Short() {
		long = 96
	}
	compare(t, m, "models/"+CDVGGONNX, map[string]ort.Tensor{"image": picture(t, "media/images/stata.jpg", long)})
}

// Import writes the files where the shared models live, loadable, and
// leaves no temporary files behind.
func TestImportWritesFiles(t *testing.T) {
	out := t.TempDir()
	files, err := ImportCDVGG(upstream(t, "Collaborative-Distillation"), out)
	if err != nil {
		t.Fatal(err)
	}
	more, err := ImportMicroAST(upstream(t, "MicroAST/models"), out) // the checkpoints' own folder works too
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, more...)
	want := []string{CDVGGONNX, MicroASTStyleONNX, MicroASTTransferONNX}
	if len(files) != len(want) {
		t.Fatalf("wrote %v, want %v", files, want)
	}
	for i, rel := range want {
		if files[i] != filepath.Join(out, rel) {
			t.Errorf("file %d is %s, want %s", i, files[i], filepath.Join(out, rel))
		}
		if _, err := onnx.Load(files[i]); err != nil {
			t.Error(err)
		}
	}
	for _, sub := range []string{"arbitrary", "perceptual"} {
		ents, _ := os.ReadDir(filepath.Join(out, sub))
		for _, e := range ents {
			if filepath.Ext(e.Name()) != ".onnx" {
				t.Errorf("left %s in %s", e.Name(), sub)
			}
		}
	}
}

func TestBuildErrors(t *testing.T) {
	ck, err := torch.Load(upstream(t, "Collaborative-Distillation/"+CDVGGCheckpoint))
	if err != nil {
		t.Fatal(err)
	}
	delete(ck.Tensors, "conv42.bias")
	if _, err := CDVGG(ck); err == nil || !strings.HasSuffix(err.Error(), `5SE.pth: missing key "conv42.bias"`) {
		t.Errorf("missing key: %v", err)
	}
	c, err := LoadMicroASTCheckpoints(upstream(t, "MicroAST"))
	if err != nil {
		t.Fatal(err)
	}
	// The style encoder's weights where the modulator's should be.
	c.Modulator = c.Style
	if _, err := MicroASTStyleModel(c); err == nil || !strings.Contains(err.Error(), `style_encoder_iter_160000.pth.tar: missing key "weight1.0.conv_layer.weight"`) {
		t.Errorf("wrong checkpoint: %v", err)
	}
	c.Modulator, c.Decoder = c.Decoder, c.Content
	if _, err := MicroASTTransferModel(c); err == nil || !strings.Contains(err.Error(), "missing key \"dec1.conv1.conv_layer.weight\"") {
		t.Errorf("wrong decoder: %v", err)
	}
	w := ck.Tensors["conv11.weight"]
	w.Shape = []int{16, 3, 1, 9}
	ck.Tensors["conv11.weight"] = w
	if _, err := CDVGG(ck); err == nil || !strings.Contains(err.Error(), "conv11.weight has shape [16 3 1 9], want [16 3 3 3]") {
		t.Errorf("wrong shape: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadCDVGG(filepath.Join(dir, "nope")); err == nil || !strings.Contains(err.Error(), "nope: no such file or directory") {
		t.Errorf("missing folder: %v", err)
	}
	if _, err := LoadMicroASTCheckpoints(dir); !errors.Is(err, ErrMissing) {
		t.Errorf("empty folder: %v", err)
	}
	// A truncated checkpoint is named in the error.
	b, err := os.ReadFile(upstream(t, "Collaborative-Distillation/"+CDVGGCheckpoint))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "5SE.pth")
	os.WriteFile(p, b[:len(b)/2], 0o644)
	if _, err := LoadCDVGG(dir); err == nil || !strings.HasPrefix(err.Error(), "checkpoint "+p+": ") {
		t.Errorf("truncated: %v", err)
	}
	out := filepath.Join(dir, "out")
	if _, err := ImportCDVGG(dir, out); err == nil {
		t.Error("import of a truncated checkpoint worked")
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed import created %s", out)
	}
}

// Reading the checkpoints and building the graphs (no file writes).
func BenchmarkImportMicroAST(b *testing.B) {
	dir := testenv.SharedFile(b, "upstream/MicroAST")
	b.ReportAllocs()
	for b.Loop() {
		c, err := LoadMicroASTCheckpoints(dir)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := MicroASTStyleModel(c); err != nil {
			b.Fatal(err)
		}
		if _, err := MicroASTTransferModel(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkImportCDVGG(b *testing.B) {
	dir := testenv.SharedFile(b, "upstream/Collaborative-Distillation")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadCDVGG(dir); err != nil {
			b.Fatal(err)
		}
	}
}
