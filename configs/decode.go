package configs

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/stylize/stylize/pipeline/option"
)

// pos is a place in the file.
type pos struct{ line, col int }

// positions maps key paths (jobs[2].zoom) to where their value is, and
// "path#key" to where the key itself is.
type positions map[string]pos

// decoder walks go-yaml's AST into the schema structs by their yaml tags,
// keeping every key path's position and collecting every problem instead
// of stopping at the first (go-yaml's own struct decoding stops there and
// loses positions of valid values, which validation needs later).
type decoder struct {
	file    string
	pos     positions
	probs   Problems
	anchors map[string]ast.Node
}

func (d *decoder) problem(p pos, path, format string, a ...any) {
	d.probs = append(d.probs, Problem{File: d.file, Line: p.line, Col: p.col, Path: path, Msg: fmt.Sprintf(format, a...)})
}

// decodeBatch parses src and decodes it into a Batch; the decoder keeps
// the positions, problems and anchors for the validator.
func decodeBatch(file string, src []byte) (*Batch, *decoder) {
	d := &decoder{file: file, pos: positions{}, anchors: map[string]ast.Node{}}
	b := &Batch{File: file, pos: d.pos}
	f, err := parser.ParseBytes(src, 0)
	if err != nil {
		var ye yaml.Error
		if errors.As(err, &ye) && ye.GetToken() != nil {
			p := ye.GetToken().Position
			d.problem(pos{p.Line, p.Column}, "", "YAML syntax error: %s", ye.GetMessage())
		} else {
			d.problem(pos{}, "", "YAML syntax error: %v", err)
		}
		return b, d
	}
	var body ast.Node
	for _, doc := range f.Docs {
		if doc.Body == nil {
			continue
		}
		if body != nil {
			p := nodePos(doc.Body)
			d.problem(p, "", "more than one YAML document; want one")
			return b, d
		}
		body = doc.Body
	}
	if body == nil {
		d.problem(pos{1, 1}, "", "empty file: want a mapping with jobs: (see stylize run -h)")
		return b, d
	}
	d.decode(body, reflect.ValueOf(b).Elem(), "")
	return b, d
}

// nodePos is where a node starts: a mapping at its first key.
func nodePos(n ast.Node) pos {
	switch v := n.(type) {
	case *ast.MappingNode:
		if len(v.Values) > 0 {
			return nodePos(v.Values[0])
		}
	case *ast.MappingValueNode:
		return nodePos(v.Key)
	case *ast.DocumentNode:
		if v.Body != nil {
			return nodePos(v.Body)
		}
	}
	if t := tokenOf(n); t != nil {
		return pos{t.Position.Line, t.Position.Column}
	}
	return pos{}
}

func tokenOf(n ast.Node) *token.Token {
	if n == nil {
		return nil
	}
	defer func() { _ = recover() }() // some node types have no token to give
	return n.GetToken()
}

// what names a node's type for messages.
func what(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode, *ast.LiteralNode:
		return "a string"
	case *ast.IntegerNode:
		return "an integer"
	case *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "a number"
	case *ast.BoolNode:
		return "a boolean"
	case *ast.NullNode:
		return "nothing"
	}
	return strings.ToLower(n.Type().String())
}

// unwrap strips tags and anchors and follows aliases.
func (d *decoder) unwrap(n ast.Node) ast.Node {
	for i := 0; i < 32; i++ {
		switch v := n.(type) {
		case *ast.TagNode:
			n = v.Value
		case *ast.AnchorNode:
			if v.Name != nil {
				d.anchors[v.Name.String()] = v.Value
			}
			n = v.Value
		case *ast.AliasNode:
			t, ok := d.anchors[v.Value.String()]
			if !ok {
				return v
			}
			n = t
		default:
			return n
		}
	}
	return n
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var (
	stringListType = reflect.TypeOf(StringList(nil))
	valuesType     = reflect.TypeOf(Values(nil))
)

// rawValue is an option's YAML value kept until the job's kind says what
// type it is (typed by the validator).
type rawValue struct{ node ast.Node }

// decode stores node n into v (a settable value) at key path.
func (d *decoder) decode(n ast.Node, v reflect.Value, path string) {
	n = d.unwrap(n)
	p := nodePos(n)
	d.pos[path] = p
	if _, null := n.(*ast.NullNode); null {
		return // unset: defaults apply
	}
	if a, ok := n.(*ast.AliasNode); ok {
		d.problem(p, path, "unknown alias *%s", a.Value)
		return
	}
	switch {
	case v.Type() == valuesType:
		pairs, ok := mappingPairs(n)
		if !ok {
			d.problem(p, path, "want a mapping (key: value), got %s", what(n))
			return
		}
		for _, kv := range pairs {
			d.rest(v, kv, path)
		}
		return
	case v.Type() == stringListType:
		if seq, ok := n.(*ast.SequenceNode); ok {
			for i, e := range seq.Values {
				var s string
				d.decode(e, reflect.ValueOf(&s).Elem(), fmt.Sprintf("%s[%d]", path, i))
				v.Set(reflect.Append(v, reflect.ValueOf(s)))
			}
			return
		}
		var s string
		d.decode(n, reflect.ValueOf(&s).Elem(), path)
		v.Set(reflect.ValueOf(StringList{s}))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		e := reflect.New(v.Type().Elem())
		before := len(d.probs)
		d.decode(n, e.Elem(), path)
		if len(d.probs) == before || e.Elem().Kind() == reflect.Struct {
			v.Set(e) // a value of the wrong type stays unset: reported once, not again as out of range
		}
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Map:
		pairs, ok := mappingPairs(n)
		if !ok {
			d.problem(p, path, "want a mapping (name: value), got %s", what(n))
			return
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		for _, kv := range pairs {
			key := d.unwrap(kv.Key).String()
			sub := joinPath(path, key)
			d.pos[sub+"#key"] = nodePos(kv.Key)
			e := reflect.New(v.Type().Elem()).Elem()
			d.decode(kv.Value, e, sub)
			v.SetMapIndex(reflect.ValueOf(key), e)
		}
	case reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			d.problem(p, path, "want a list, got %s", what(n))
			return
		}
		for i, e := range seq.Values {
			el := reflect.New(v.Type().Elem()).Elem()
			d.decode(e, el, fmt.Sprintf("%s[%d]", path, i))
			v.Set(reflect.Append(v, el))
		}
	case reflect.String, reflect.Bool, reflect.Int, reflect.Float64:
		d.decodeScalar(n, v, path, p)
	default:
		panic("configs: no decoder for " + v.Type().String()) // programmer error: schema type not handled
	}
}

// decodeScalar stores a string, bool, int or float node into v.
func (d *decoder) decodeScalar(n ast.Node, v reflect.Value, path string, p pos) {
	switch v.Kind() {
	case reflect.String:
		switch s := n.(type) {
		case *ast.StringNode:
			v.SetString(s.Value)
		case *ast.LiteralNode:
			v.SetString(s.Value.Value)
		case *ast.IntegerNode, *ast.FloatNode:
			v.SetString(s.GetToken().Value) // zoom: 12, start: 10 — the flag would take them as text too
		default:
			d.problem(p, path, "want a string, got %s", what(n))
		}
	case reflect.Bool:
		b, ok := n.(*ast.BoolNode)
		if !ok {
			d.problem(p, path, "want true or false, got %s", what(n))
			return
		}
		v.SetBool(b.Value)
	case reflect.Int:
		i, ok := n.(*ast.IntegerNode)
		if !ok {
			d.problem(p, path, "want an integer, got %s", what(n))
			return
		}
		x, err := strconv.ParseInt(fmt.Sprint(i.Value), 10, 64)
		if err != nil || x > math.MaxInt32 || x < math.MinInt32 {
			d.problem(p, path, "integer %s out of range", i.GetToken().Value)
			return
		}
		v.SetInt(x)
	case reflect.Float64:
		switch f := n.(type) {
		case *ast.FloatNode:
			v.SetFloat(f.Value)
		case *ast.IntegerNode:
			x, _ := strconv.ParseFloat(fmt.Sprint(f.Value), 64)
			v.SetFloat(x)
		default:
			d.problem(p, path, "want a number, got %s", what(n))
		}
	}
}

// mappingPairs returns a mapping's key/value pairs.
func mappingPairs(n ast.Node) ([]*ast.MappingValueNode, bool) {
	switch m := n.(type) {
	case *ast.MappingNode:
		return m.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{m}, true
	}
	return nil, false
}

// decodeAs decodes n as a T.
func decodeAs[T any](d *decoder, n ast.Node, path string) T {
	var x T
	d.decode(n, reflect.ValueOf(&x).Elem(), path)
	return x
}

// fieldIndex lists a struct's yaml keys (inline structs flattened).
func fieldIndex(t reflect.Type) (map[string][]int, []string) {
	idx := map[string][]int{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "" || !f.IsExported() {
			continue
		}
		name, opt, _ := strings.Cut(tag, ",")
		if opt == "rest" {
			idx[",rest"] = []int{i}
			continue
		}
		if opt == "inline" {
			sub, subNames := fieldIndex(f.Type)
			for _, n := range subNames {
				if _, dup := idx[n]; dup {
					continue // the outer field wins (job's own keys over options)
				}
				idx[n] = append([]int{i}, sub[n]...)
				names = append(names, n)
			}
			continue
		}
		if _, dup := idx[name]; !dup {
			names = append(names, name)
		}
		idx[name] = []int{i}
	}
	return idx, names
}

func (d *decoder) decodeStruct(n ast.Node, v reflect.Value, path string) {
	pairs, ok := mappingPairs(n)
	if !ok {
		d.problem(nodePos(n), path, "want a mapping (key: value), got %s", what(n))
		return
	}
	idx, names := fieldIndex(v.Type())
	rest, hasRest := idx[",rest"]
	for _, kv := range pairs {
		kn := d.unwrap(kv.Key)
		key := kn.String()
		if s, ok := kn.(*ast.StringNode); ok {
			key = s.Value
		}
		sub := joinPath(path, key)
		kp := nodePos(kv.Key)
		d.pos[sub+"#key"] = kp
		fi, ok := idx[key]
		if !ok && hasRest {
			d.rest(v.FieldByIndex(rest), kv, path) // an option: the validator knows its type
			continue
		}
		if !ok {
			msg := fmt.Sprintf("unknown key %q", key)
			if alt := strings.ReplaceAll(key, "-", "_"); alt != key && idx[alt] != nil {
				msg += fmt.Sprintf(" (keys are the flag names with underscores: %s)", alt)
			} else if s := suggest(key, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			}
			d.problem(kp, sub, "%s", msg)
			continue
		}
		d.decode(kv.Value, v.FieldByIndex(fi), sub)
	}
}

// rest keeps an option's key and YAML value in vs (a Values) at path.
func (d *decoder) rest(vs reflect.Value, kv *ast.MappingValueNode, path string) {
	kn := d.unwrap(kv.Key)
	key := kn.String()
	if s, ok := kn.(*ast.StringNode); ok {
		key = s.Value
	}
	d.pos[joinPath(path, key)+"#key"] = nodePos(kv.Key)
	d.pos[joinPath(path, key)] = nodePos(d.unwrap(kv.Value))
	if vs.IsNil() {
		vs.Set(reflect.MakeMap(valuesType))
	}
	vs.SetMapIndex(reflect.ValueOf(key), reflect.ValueOf(rawValue{kv.Value}))
}

// typed decodes an option's YAML value as the declared type; ok is false
// when it does not have that type (reported).
func (d *decoder) typed(raw any, typ option.Type, path string) (any, bool) {
	rv, isRaw := raw.(rawValue)
	if !isRaw {
		return raw, true // already typed
	}
	n := d.unwrap(rv.node)
	if _, null := n.(*ast.NullNode); null {
		return nil, false // unset: defaults apply
	}
	before := len(d.probs)
	var out any
	switch typ {
	case option.Bool:
		out = decodeAs[bool](d, n, path)
	case option.Int:
		out = decodeAs[int](d, n, path)
	case option.Float:
		out = decodeAs[float64](d, n, path)
	case option.String:
		out = decodeAs[string](d, n, path)
	case option.Strings:
		out = []string(decodeAs[StringList](d, n, path))
	case option.Floats:
		if _, seq := n.(*ast.SequenceNode); seq {
			out = decodeAs[[]float64](d, n, path)
		} else {
			out = []float64{decodeAs[float64](d, n, path)} // one number: a list of one
		}
	}
	return out, len(d.probs) == before
}
