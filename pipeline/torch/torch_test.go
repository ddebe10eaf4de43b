package torch

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stylize/stylize/pipeline/testenv"
)

func TestParseFormats(t *testing.T) {
	ts, keys, st, numel := sample()
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"legacy", legacyCheckpoint(ts, keys, st, numel, false)},
		{"legacy under model", legacyCheckpoint(ts, keys, st, numel, true)},
		{"zip", zipCheckpoint(t, ts, st)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.name, tc.b)
			if err != nil {
				t.Fatal(err)
			}
			wantKeys := []string{"conv.weight", "conv.bias", "fc.t", "half", "double", "bn.num_batches_tracked"}
			if !slices.Equal(c.Keys, wantKeys) {
				t.Errorf("keys %v, want %v", c.Keys, wantKeys)
			}
			for _, w := range []struct {
				key   string
				shape []int
				data  []float32
			}{
				{"conv.weight", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}},
				{"conv.bias", []int{2}, []float32{7, 8}},
				{"fc.t", []int{3, 2}, []float32{1, 4, 2, 5, 3, 6}},
				{"half", []int{3}, []float32{1, -2, 0.5}},
				{"double", []int{2}, []float32{0.25, -4}},
				{"bn.num_batches_tracked", []int{}, []float32{7}},
			} {
				got, err := c.Tensor(w.key, w.shape...)
				if err != nil {
					t.Error(err)
					continue
				}
				if !slices.Equal(got.Data, w.data) {
					t.Errorf("%s = %v, want %v", w.key, got.Data, w.data)
				}
			}
		})
	}
}

func TestTensorErrors(t *testing.T) {
	ts, keys, st, numel := sample()
	c, err := Parse("x.pth", legacyCheckpoint(ts, keys, st, numel, false))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Tensor("conv.nope"); err == nil || err.Error() != `checkpoint x.pth: missing key "conv.nope"` {
		t.Errorf("missing key: %v", err)
	}
	if _, err := c.Tensor("conv.weight", 3, 2); err == nil || err.Error() != "checkpoint x.pth: conv.weight has shape [2 3], want [3 2]" {
		t.Errorf("wrong shape: %v", err)
	}
}

func TestParseBadInput(t *testing.T) {
	ts, keys, st, numel := sample()
	good := legacyCheckpoint(ts, keys, st, numel, false)
	short := map[string][]byte{"0": st["0"][:8], "1": st["1"], "2": st["2"], "3": st["3"]}
	big := slices.Clone(ts)
	big[0].size = []int64{3, 3}
	for _, tc := range []struct {
		name, b, want string
	}{
		{"empty", "", "not a PyTorch checkpoint"},
		{"text", "hello world", "not a PyTorch checkpoint"},
		{"pickle without magic", "\x80\x02K\x01.", "without torch's magic number"},
		{"truncated", string(good[:len(good)-3]), "unexpected EOF"},
		{"cut in the pickle", string(good[:60]), "malformed pickle"},
		{"view past storage", string(legacyCheckpoint(big, keys, st, numel, false)), "runs past"},
		{"zip storage too short", string(zipCheckpoint(t, ts, short)), "bytes, want 32"},
		{"zip without data.pkl", "PK\x03\x04 not really", "not a PyTorch checkpoint"},
		{"tar", strings.Repeat("\x00", 257) + "ustar" + strings.Repeat("\x00", 300), "tar archive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("bad.pth", []byte(tc.b))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "checkpoint bad.pth: ") {
				t.Fatalf("err = %v, want one naming bad.pth and %q", err, tc.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "none.pth")); err == nil || !errors.Is(err, os.ErrNotExist) ||
		!strings.Contains(err.Error(), "none.pth: no such file") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "is a folder") {
		t.Errorf("folder: %v", err)
	}
	p := filepath.Join(dir, "junk.pth")
	os.WriteFile(p, []byte("junk"), 0o644)
	if _, err := Load(p); !errors.Is(err, ErrNotCheckpoint) {
		t.Errorf("junk: %v", err)
	}
}

// The real upstream files: legacy format, an OrderedDict (MicroAST) and a
// {"epoch", "model"} dict saved from CUDA (Collaborative Distillation).
func TestLoadUpstream(t *testing.T) {
	up := testenv.SharedFile(t, "upstream")
	for _, tc := range []struct {
		rel   string
		n     int
		key   string
		shape []int
	}{
		{"MicroAST/models/decoder_iter_160000.pth.tar", 18, "dec3.10.conv_layer.weight", []int{3, 16, 9, 9}},
		{"MicroAST/models/modulator_iter_160000.pth.tar", 8, "bias2.0.conv_layer.weight", []int{64, 1, 3, 3}},
		{"Collaborative-Distillation/trained_models/wct_se_16x_new/5SE.pth", 38, "conv51.weight", []int{128, 128, 3, 3}},
	} {
		c, err := Load(filepath.Join(up, tc.rel))
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Keys) != tc.n {
			t.Errorf("%s: %d tensors, want %d", tc.rel, len(c.Keys), tc.n)
		}
		if _, err := c.Tensor(tc.key, tc.shape...); err != nil {
			t.Error(err)
		}
	}
}

// Every prefix of a real checkpoint fails cleanly (no panic, an error).
func TestTruncatedUpstream(t *testing.T) {
	b, err := os.ReadFile(testenv.SharedFile(t, "upstream/MicroAST/models/modulator_iter_160000.pth.tar"))
	if err != nil {
		t.Fatal(err)
	}
	step := 1
	if testing.Short() {
		step = 7
	}
	for n := 0; n < len(b); n += step {
		if _, err := Parse("cut", b[:n]); err == nil {
			t.Fatalf("a prefix of %d bytes parsed", n)
		}
	}
}

func FuzzParse(f *testing.F) {
	ts, keys, st, numel := sample()
	f.Add(legacyCheckpoint(ts, keys, st, numel, false))
	f.Add(legacyCheckpoint(ts, keys, st, numel, true))
	f.Add(zipCheckpoint(f, ts, st))
	f.Fuzz(func(t *testing.T, b []byte) {
		t0 := time.Now()
		c, err := Parse("fuzz", b)
		if d := time.Since(t0); d > 2*time.Second {
			t.Fatalf("parse took %v", d)
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "checkpoint fuzz: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, k := range c.Keys {
			tn := c.Tensors[k]
			n := 1
			for _, d := range tn.Shape {
				n *= d
			}
			if n != len(tn.Data) {
				t.Fatalf("%s: shape %v with %d values", k, tn.Shape, len(tn.Data))
			}
		}
	})
}

// A dict that holds itself (possible through the memo) must not recurse
// forever.
func TestSelfContainingDict(t *testing.T) {
	var p pw
	p.op(0x80, 2, 0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, '.')
	p.op('K', 1, '.', '}', '.')
	p.op('}', 'q', 0)
	p.str("me")
	p.op('h', 0, 's', '.', ']', '.')
	if _, err := Parse("loop", p.Bytes()); err == nil || !strings.Contains(err.Error(), "without tensors") {
		t.Fatalf("err = %v", err)
	}
}

// The real 5SE.pth weights re-saved in the zip layout of PyTorch 1.6+ read
// back the same as from the legacy file.
func TestZipMatchesLegacyUpstream(t *testing.T) {
	legacy, err := Load(testenv.SharedFile(t, "upstream/Collaborative-Distillation/trained_models/wct_se_16x_new/5SE.pth"))
	if err != nil {
		t.Fatal(err)
	}
	var ts []tensorSpec
	storages := map[string][]byte{}
	for i, k := range legacy.Keys {
		tn := legacy.Tensors[k]
		key := strconv.Itoa(i)
		size, stride := make([]int64, len(tn.Shape)), make([]int64, len(tn.Shape))
		s := int64(1)
		for d := len(tn.Shape) - 1; d >= 0; d-- {
			size[d], stride[d] = int64(tn.Shape[d]), s
			s *= int64(tn.Shape[d])
		}
		ts = append(ts, tensorSpec{k, "FloatStorage", key, int64(len(tn.Data)), 0, size, stride})
		storages[key] = f32bytes(tn.Data...)
	}
	z, err := Parse("5SE-zip.pth", zipCheckpoint(t, ts, storages))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(z.Keys, legacy.Keys) {
		t.Fatalf("keys differ: %v vs %v", z.Keys, legacy.Keys)
	}
	for _, k := range legacy.Keys {
		a, b := legacy.Tensors[k], z.Tensors[k]
		if !slices.Equal(a.Shape, b.Shape) || !slices.Equal(a.Data, b.Data) {
			t.Errorf("%s differs", k)
		}
	}
}
