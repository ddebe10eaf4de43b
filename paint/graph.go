package paint

import (
	"fmt"

	"github.com/stylize/stylize/pipeline/onnx"
	"github.com/stylize/stylize/pipeline/onnx/onnxpb"
)

// Pool is the pooling the generated graph uses in place of the net's
// MaxPool layers.
type Pool string

// The pooling choices. Gatys et al. recommend average pooling; the cd16x
// weights were trained with max pooling.
const (
	MaxPool Pool = "max"
	AvgPool Pool = "avg"
)

// Graph input and output names of the generated loss-and-gradient graph.
const (
	InImage          = "image"           // [1,3,H,W] RGB 0..1
	InStyleWeights   = "style_weights"   // [len(Spec.Style)], one weight per style layer
	InContentWeights = "content_weights" // [len(Spec.Content)]
	OutLoss          = "loss"            // [1]
	OutGrad          = "grad"            // [1,3,H,W] dLoss/dImage
)

// GramInput is the input holding layer's target Gram matrix [C,C].
func GramInput(layer string) string { return "gram_" + layer }

// ContentInput is the input holding layer's target features [1,C,h,w].
func ContentInput(layer string) string { return "content_" + layer }

// Term is an extra loss on the picture itself (total variation here; a
// temporal loss to a warped previous frame later). Add appends its nodes:
// x is the image [1,3,h,w]; it returns the names of its loss ([1]) and of
// its gradient with respect to x. A term that needs data declares graph
// inputs with b.Input and names them in Inputs, so callers can feed them.
type Term interface {
	Add(b *onnx.Builder, x string, h, w int) (loss, grad string)
	Inputs() []string
}

// Spec says what the generated graph computes.
type Spec struct {
	H, W    int      // picture size
	Style   []string // layers with a Gram loss, e.g. relu1_1 … relu5_1
	Content []string // layers with a feature loss, e.g. relu4_2
	Pool    Pool     // "" is MaxPool
	Terms   []Term
	// ConvTranspose picks the backward of Conv: false (default) is a Conv
	// with the flipped, transposed weights and full zero padding, true a
	// ConvTranspose with the forward weights. The numbers are the same; on
	// onnxruntime's CPU provider the Conv takes a quarter less CPU time per
	// evaluation (0.40 against 0.52 CPU-s at 512×340).
	ConvTranspose bool
}

// gradBuilder holds the state of one generation.
type gradBuilder struct {
	*onnx.Builder
	net    *Net
	spec   Spec
	shapes map[string]shape
	grads  map[string][]string // contributions to dLoss/dValue
	losses []string
	idx    map[string]string // MaxPool output -> its Indices
}

// Build generates the loss-and-gradient graph for spec: inputs InImage, one
// GramInput per style layer, one ContentInput per content layer,
// InStyleWeights, InContentWeights and the terms' inputs; outputs OutLoss
// and OutGrad. Layers after the deepest one used are left out.
//
// The losses (F is a layer's features as a C×N matrix, N = h·w):
//
//	Gram G = F·Fᵀ / N
//	style   = Σ_l style_weights[l] · mean over C×C of (G_l − A_l)²
//	content = Σ_l content_weights[l] · mean over C×N of (F_l − P_l)²
func (n *Net) Build(spec Spec) (*onnx.Model, error) {
	if spec.Pool == "" {
		spec.Pool = MaxPool
	}
	if spec.Pool != MaxPool && spec.Pool != AvgPool {
		return nil, fmt.Errorf("paint: pool %q: want max or avg", spec.Pool)
	}
	sh, err := n.shapes(spec.H, spec.W)
	if err != nil {
		return nil, err
	}
	last := -1
	want := map[string]bool{}
	for _, l := range append(append([]string{}, spec.Style...), spec.Content...) {
		want[l] = true
	}
	for i, op := range n.ops {
		if want[op.out] {
			last = i
			delete(want, op.out)
		}
	}
	for l := range want {
		return nil, fmt.Errorf("paint: %s has no layer %s (it has %v)", n.name, l, n.Layers())
	}
	g := &gradBuilder{Builder: onnx.NewBuilder("paint"), net: n, spec: spec, shapes: sh,
		grads: map[string][]string{}, idx: map[string]string{}}
	g.declare()
	g.forward(n.ops[:last+1])
	g.addLosses()
	for _, t := range spec.Terms {
		loss, grad := t.Add(g.Builder, InImage, spec.H, spec.W)
		g.losses = append(g.losses, loss)
		g.grads[InImage] = append(g.grads[InImage], grad)
	}
	for i := last; i >= 0; i-- {
		g.backward(n.ops[i])
	}
	total := g.losses[0]
	if len(g.losses) > 1 {
		total = g.Node("Sum", g.losses)
	}
	g.NodeTo("Reshape", []string{total, g.Int64s("shape", []int64{1})}, []string{OutLoss})
	g.NodeTo("Identity", []string{g.grad(InImage)}, []string{OutGrad})
	f := onnxpb.TensorProto_FLOAT
	g.Output(OutLoss, f, []onnx.Dim{{Value: 1}})
	g.Output(OutGrad, f, dims(1, 3, int64(spec.H), int64(spec.W)))
	return g.Model("paint", 17, nil), nil
}

func dims(v ...int64) []onnx.Dim {
	d := make([]onnx.Dim, len(v))
	for i, x := range v {
		d[i] = onnx.Dim{Value: x}
	}
	return d
}

func (g *gradBuilder) declare() {
	f := onnxpb.TensorProto_FLOAT
	g.Input(InImage, f, dims(1, 3, int64(g.spec.H), int64(g.spec.W)))
	for _, l := range g.spec.Style {
		c := g.shapes[l].c
		g.Input(GramInput(l), f, dims(c, c))
	}
	for _, l := range g.spec.Content {
		s := g.shapes[l]
		g.Input(ContentInput(l), f, dims(1, s.c, s.h, s.w))
	}
	g.Input(InStyleWeights, f, dims(int64(len(g.spec.Style))))
	g.Input(InContentWeights, f, dims(int64(len(g.spec.Content))))
}

// forward copies the chain, keeping value names, with the initializers it
// reads; MaxPool also returns its Indices for the backward pass (or
// becomes AveragePool).
func (g *gradBuilder) forward(ops []netOp) {
	seen := map[string]bool{}
	copyInit := func(name string) {
		if name != "" && !seen[name] {
			seen[name] = true
			g.G.Initializer = append(g.G.Initializer, g.net.inits[name])
		}
	}
	for _, op := range ops {
		switch op.kind {
		case opConv:
			copyInit(op.w)
			copyInit(op.bias)
			in := []string{op.in, op.w}
			if op.bias != "" {
				in = append(in, op.bias)
			}
			g.NodeTo("Conv", in, []string{op.out})
		case opPad:
			g.NodeTo("Pad", []string{op.in, g.Int64s("pads", op.pads)}, []string{op.out}, onnx.AttrString("mode", "reflect"))
		case opRelu:
			g.NodeTo("Relu", []string{op.in}, []string{op.out})
		case opMaxPool:
			pool := []*onnxpb.AttributeProto{onnx.AttrInts("kernel_shape", 2, 2), onnx.AttrInts("strides", 2, 2)}
			if g.spec.Pool == AvgPool {
				g.NodeTo("AveragePool", []string{op.in}, []string{op.out}, pool...)
				continue
			}
			g.idx[op.out] = g.Fresh("pool_indices")
			g.NodeTo("MaxPool", []string{op.in}, []string{op.out, g.idx[op.out]}, pool...)
		}
	}
}

// grad sums the contributions to v's gradient ("" when v has none).
func (g *gradBuilder) grad(v string) string {
	c := g.grads[v]
	switch len(c) {
	case 0:
		return ""
	case 1:
		return c[0]
	}
	s := g.Node("Sum", c)
	g.grads[v] = []string{s}
	return s
}

func (g *gradBuilder) scalar(v float64) string { return g.Scalar(float32(v)) }

// weight is entry i of a weights input, shape [1].
func (g *gradBuilder) weight(in string, i int) string {
	return g.Node("Slice", []string{in, g.Int64s("start", []int64{int64(i)}), g.Int64s("end", []int64{int64(i + 1)})})
}

func (g *gradBuilder) sumAll(x string) string {
	return g.Node("ReduceSum", []string{x}, onnx.AttrInt("keepdims", 0))
}

// addLosses adds the Gram and content losses and seeds their gradients.
func (g *gradBuilder) addLosses() {
	for i, l := range g.spec.Style {
		s := g.shapes[l]
		c, n := float64(s.c), float64(s.h*s.w)
		w := g.weight(InStyleWeights, i)
		f := g.Node("Reshape", []string{l, g.Int64s("shape", []int64{s.c, s.h * s.w})})
		gram := g.Node("Mul", []string{g.Node("MatMul", []string{f, g.Node("Transpose", []string{f})}), g.scalar(1 / n)})
		d := g.Node("Sub", []string{gram, GramInput(l)})
		loss := g.Node("Mul", []string{g.sumAll(g.Node("Mul", []string{d, d})), g.Node("Mul", []string{w, g.scalar(1 / (c * c))})})
		g.losses = append(g.losses, loss)
		// dL/dF = (dL/dG + dL/dGᵀ)·F/N = 4w/(C²N) · D·F (D is symmetric).
		df := g.Node("Mul", []string{g.Node("MatMul", []string{d, f}), g.Node("Mul", []string{w, g.scalar(4 / (c * c * n))})})
		g.grads[l] = append(g.grads[l], g.Node("Reshape", []string{df, g.Int64s("shape", []int64{1, s.c, s.h, s.w})}))
	}
	for i, l := range g.spec.Content {
		s := g.shapes[l]
		size := float64(s.c * s.h * s.w)
		w := g.weight(InContentWeights, i)
		d := g.Node("Sub", []string{l, ContentInput(l)})
		loss := g.Node("Mul", []string{g.sumAll(g.Node("Mul", []string{d, d})), g.Node("Mul", []string{w, g.scalar(1 / size)})})
		g.losses = append(g.losses, loss)
		g.grads[l] = append(g.grads[l], g.Node("Mul", []string{d, g.Node("Mul", []string{w, g.scalar(2 / size)})}))
	}
}

// backward propagates op's output gradient to its input.
func (g *gradBuilder) backward(op netOp) {
	dy := g.grad(op.out)
	if dy == "" {
		return
	}
	var dx string
	in := g.shapes[op.in]
	switch op.kind {
	case opRelu:
		// Relu's output is ≥ 0, so its Sign is the 0/1 mask of the active units.
		dx = g.Node("Mul", []string{dy, g.Node("Sign", []string{op.out})})
	case opConv:
		dx = g.convBackward(op, dy)
	case opPad:
		dx = g.foldReflect(dy, in, op.pads)
	case opMaxPool:
		if g.spec.Pool == AvgPool {
			dx = g.avgPoolBackward(dy, in)
			break
		}
		dx = g.Node("MaxUnpool", []string{dy, g.idx[op.out], g.Int64s("shape", []int64{1, in.c, in.h, in.w})},
			onnx.AttrInts("kernel_shape", 2, 2), onnx.AttrInts("strides", 2, 2))
	}
	g.grads[op.in] = append(g.grads[op.in], dx)
}

// convBackward is dLoss/dInput of a stride-1 unpadded Conv: the transposed
// convolution with the same weights, which is the full convolution with
// the kernels flipped and the in/out channels swapped.
func (g *gradBuilder) convBackward(op netOp, dy string) string {
	if g.spec.ConvTranspose {
		return g.Node("ConvTranspose", []string{dy, op.w}, onnx.AttrInts("kernel_shape", op.k, op.k))
	}
	w := g.net.inits[op.w]
	d := w.GetDims()
	m, c, k := d[0], d[1], d[2]
	src := w.GetFloatData()
	if len(src) == 0 {
		src = floatsOfRaw(w.GetRawData())
	}
	flip := make([]float32, len(src))
	for o := int64(0); o < m; o++ {
		for i := int64(0); i < c; i++ {
			for y := int64(0); y < k; y++ {
				for x := int64(0); x < k; x++ {
					flip[((i*m+o)*k+y)*k+x] = src[((o*c+i)*k+(k-1-y))*k+(k-1-x)]
				}
			}
		}
	}
	wt := g.Const("wflip", []int64{c, m, k, k}, flip)
	p := k - 1
	return g.Node("Conv", []string{dy, wt}, onnx.AttrInts("kernel_shape", k, k), onnx.AttrInts("pads", p, p, p, p))
}

// avgPoolBackward spreads each gradient over its 2×2 window (a quarter
// each) by broadcasting it to [1,C,h,2,w,2]; an odd last row or column got
// no gradient (zero padding).
func (g *gradBuilder) avgPoolBackward(dy string, in shape) string {
	h, w := in.h/2, in.w/2
	q := g.Node("Mul", []string{dy, g.scalar(0.25)})
	q = g.Node("Reshape", []string{q, g.Int64s("shape", []int64{1, in.c, h, 1, w, 1})})
	q = g.Node("Expand", []string{q, g.Int64s("shape", []int64{1, in.c, h, 2, w, 2})})
	q = g.Node("Reshape", []string{q, g.Int64s("shape", []int64{1, in.c, 2 * h, 2 * w})})
	if in.h%2 == 0 && in.w%2 == 0 {
		return q
	}
	return g.Node("Pad", []string{q, g.Int64s("pads", []int64{0, 0, 0, 0, 0, 0, in.h % 2, in.w % 2})})
}

// foldReflect is the backward of a reflect Pad: the gradient of every
// padded row and column is added to the row or column it copies.
func (g *gradBuilder) foldReflect(dy string, in shape, pads []int64) string {
	dy = g.fold(dy, 2, in.h, pads[2], pads[6])
	return g.fold(dy, 3, in.w, pads[3], pads[7])
}

// reflectIndex is the source index of padded position j (before, n long).
func reflectIndex(j, before, n int64) int64 {
	i := j - before
	if i < 0 {
		i = -i
	}
	if i >= n {
		i = 2*(n-1) - i
	}
	return i
}

// fold folds one axis of length n+before+after back to n.
func (g *gradBuilder) fold(dy string, axis, n, before, after int64) string {
	if before == 0 && after == 0 {
		return dy
	}
	from := make([][]int64, n) // padded positions feeding each index
	for j := int64(0); j < n+before+after; j++ {
		i := reflectIndex(j, before, n)
		from[i] = append(from[i], j)
	}
	ax := g.Int64s("axis", []int64{axis})
	slice := func(a, b int64) string {
		return g.Node("Slice", []string{dy, g.Int64s("start", []int64{a}), g.Int64s("end", []int64{b}), ax})
	}
	var parts []string
	runStart := int64(-1)
	flush := func(end int64) {
		if runStart >= 0 {
			parts = append(parts, slice(runStart+before, end+before))
			runStart = -1
		}
	}
	for i := int64(0); i < n; i++ {
		if len(from[i]) == 1 {
			if runStart < 0 {
				runStart = i
			}
			continue
		}
		flush(i)
		var terms []string
		for _, j := range from[i] {
			terms = append(terms, slice(j, j+1))
		}
		parts = append(parts, g.Node("Sum", terms))
	}
	flush(n)
	if len(parts) == 1 {
		return parts[0]
	}
	return g.Node("Concat", parts, onnx.AttrInt("axis", axis))
}
