package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Load reads the config file at path, decodes it strictly, applies the
// defaults and validates it. Errors name the file as given, the line and the
// field path; all validation problems are reported at once (errors.Join of
// *FieldError).
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(data, path)
}

// Parse is Load for bytes already in memory. name is used in error messages
// and, like Load's path, as the base for relative paths in the config
// (filepath.Dir(name)).
//
// Key and type problems do not hide the rest: the settings that did decode
// are defaulted and validated too, and every problem is reported in one
// run (a validation error on a field that already failed to decode is left
// out, since it only repeats it).
func Parse(data []byte, name string) (*Config, error) {
	c, err := ParsePartial(data, name)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ParsePartial is Parse that also returns the config when it has problems,
// as far as it could be decoded (nil only when the file is not a YAML
// mapping at all): `certgate check` goes on to load the files it names and
// reports those problems in the same run. A config with an error must not
// be served.
func ParsePartial(data []byte, name string) (*Config, error) {
	c, derr := decode(data, name)
	if c == nil {
		return nil, derr
	}
	c.ApplyDefaults()
	verr := c.Validate()
	if derr == nil {
		return c, verr
	}
	errs := unjoin(derr)
	for _, e := range unjoin(verr) {
		var fe *FieldError
		if errors.As(e, &fe) && underAny(fe.Path, c.failed) {
			continue
		}
		errs = append(errs, e)
	}
	return c, errors.Join(errs...)
}

// LoadPartial is ParsePartial for a file.
func LoadPartial(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return ParsePartial(data, path)
}

func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// underAny reports whether path is one of roots or inside one of them.
func underAny(path string, roots []string) bool {
	for _, r := range roots {
		if path == r || strings.HasPrefix(path, r+".") || strings.HasPrefix(path, r+"[") {
			return true
		}
	}
	return false
}

// Line is the line of path in the config file, or of its nearest ancestor
// present in the file (a defaulted field has no line of its own), or 0.
func (c *Config) Line(path string) int {
	for path != "" {
		if l, ok := c.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// FieldErr ties err to a field of this config: the result names the config
// file, the field's line (or its nearest ancestor's) and path. Packages
// that load what a field points at use it so that their errors read like
// validation errors:
//
//	certgate.yaml:9: sites[1].client_auth.trust.roots: open ca.pem: no such file or directory
func (c *Config) FieldErr(path string, err error) error {
	return &FieldError{File: c.Path, Line: c.Line(path), Path: path, Err: err}
}

// decode turns the file into a Config without defaults. Type, key and
// structure problems are found by walking the node tree against the Go
// types first, because yaml.v3's own errors carry a line but no field path
// ("line 12: field trusts not found in type config.ClientAuth").
func decode(data []byte, name string) (*Config, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, emptyErr(name)
		}
		return nil, syntaxErr(name, data, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, syntaxErr(name, data, err)
	default:
		return nil, &FieldError{File: name, Line: extra.Line, Err: fmt.Errorf(
			"%w: certgate reads a single document; remove the '---' separator and merge the settings", ErrMultipleDocuments)}
	}

	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	if root.Kind == 0 || isNull(root) {
		return nil, emptyErr(name)
	}
	if root.Kind != yaml.MappingNode {
		return nil, &FieldError{File: name, Line: root.Line, Err: fmt.Errorf(
			"want a mapping of settings (listen:, sites: ...) at the top level (got %s)", describeNode(root))}
	}

	w := &walker{file: name, lines: map[string]int{}, budget: maxNodes}
	w.walk(root, reflect.TypeOf(Config{}), "")
	if len(w.errs) > 0 {
		// What does decode, for the rest of the checks: a lenient decode
		// skips unknown keys and leaves mistyped fields at their zero
		// value. Its own errors repeat the walker's.
		if w.budget < 0 {
			return nil, errors.Join(w.errs...)
		}
		c := &Config{}
		w.prune(root, map[*yaml.Node]bool{})
		_ = root.Decode(c)
		c.Path, c.lines, c.failed = name, w.lines, w.failed
		return c, errors.Join(w.errs...)
	}

	// The walk found nothing wrong, so this strict decode is expected to
	// succeed; it stays strict so a gap in the walker cannot let an unknown
	// key through.
	c := &Config{}
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(c); err != nil {
		return nil, w.yamlErr(err)
	}
	c.Path, c.lines = name, w.lines
	return c, nil
}

func emptyErr(name string) error {
	return &FieldError{File: name, Err: fmt.Errorf("%w: the file has no settings (define at least one site under sites)", ErrEmpty)}
}

// yamlLine matches yaml.v3's "yaml: line 12: message" and the per-field
// "line 12: message" of its TypeError.
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

func syntaxErr(name string, data []byte, err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		// yaml.v3 reports parser errors ("did not find expected ...") with
		// a 0-based line and scanner errors with a 1-based one.
		if strings.HasPrefix(m[2], "did not find expected ") && !strings.HasPrefix(m[2], "did not find expected whitespace") {
			line++
		}
		if n := bytes.Count(data, []byte("\n")) + 1; data != nil && line > n {
			line = n
		}
		return &FieldError{File: name, Line: line, Err: fmt.Errorf("%w: %s", ErrSyntax, m[2])}
	}
	return &FieldError{File: name, Err: fmt.Errorf("%w: %s", ErrSyntax, strings.TrimPrefix(msg, "yaml: "))}
}

// yamlErr converts an error of the final strict decode, attaching the field
// path recorded for its line where there is one.
func (w *walker) yamlErr(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return syntaxErr(w.file, nil, err)
	}
	byLine := map[int]string{}
	for p, l := range w.lines {
		if q, ok := byLine[l]; !ok || len(p) > len(q) {
			byLine[l] = p
		}
	}
	var errs []error
	for _, e := range te.Errors {
		fe := &FieldError{File: w.file, Err: errors.New(e)}
		if m := yamlLine.FindStringSubmatch(e); m != nil {
			fe.Line, _ = strconv.Atoi(m[1])
			fe.Path = byLine[fe.Line]
			fe.Err = errors.New(m[2])
		}
		errs = append(errs, fe)
	}
	return errors.Join(errs...)
}

// maxNodes bounds the walk. Aliases can make a small file describe a huge
// tree ("billion laughs"); the schema has no recursive types, so a real
// config stays far below this.
const maxNodes = 1 << 20

// walker checks a node tree against the Go type it will decode into and
// records the line of every field path.
type walker struct {
	file   string
	lines  map[string]int
	errs   []error
	budget int
	// What failed, for prune: keys (unknown, duplicate) and values.
	badKeys   map[*yaml.Node]bool
	badValues []*yaml.Node
	failed    []string // paths of the values that failed
}

var (
	unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
	durationType    = reflect.TypeOf(time.Duration(0))
)

func (w *walker) fail(n *yaml.Node, path string, err error) {
	w.errs = append(w.errs, &FieldError{File: w.file, Line: n.Line, Path: path, Err: err})
	if errors.Is(err, ErrUnknownField) || errors.Is(err, ErrDuplicateKey) {
		if w.badKeys == nil {
			w.badKeys = map[*yaml.Node]bool{}
		}
		w.badKeys[n] = true
		return
	}
	w.badValues = append(w.badValues, n)
	w.failed = append(w.failed, path)
}

// prune turns the tree into one that decodes: keys that failed are
// removed with their values, values that failed become null (the field
// keeps its default).
func (w *walker) prune(n *yaml.Node, seen map[*yaml.Node]bool) {
	for _, b := range w.badValues {
		*b = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: b.Line, Column: b.Column}
	}
	w.badValues = nil
	if n == nil || seen[n] {
		return
	}
	seen[n] = true
	if n.Kind == yaml.MappingNode {
		kept := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			if w.badKeys[n.Content[i]] {
				continue
			}
			kept = append(kept, n.Content[i], n.Content[i+1])
		}
		n.Content = kept
	}
	for _, c := range n.Content {
		w.prune(c, seen)
	}
	w.prune(n.Alias, seen)
}

func (w *walker) walk(n *yaml.Node, t reflect.Type, path string) {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	if w.budget--; w.budget < 0 {
		if w.budget == -1 {
			w.fail(n, path, errors.New("too many nodes (deeply nested aliases?); certgate configs are small"))
		}
		return
	}
	if isNull(n) {
		return // an empty value leaves the default in place, as yaml.v3 does
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		w.leaf(n, t, path)
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		w.walk(n, t.Elem(), path)
	case reflect.Struct:
		w.mapping(n, t, path)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			w.leaf(n, t, path)
			return
		}
		if n.Kind != yaml.SequenceNode {
			w.fail(n, path, fmt.Errorf("want a list (got %s)", describeNode(n)))
			return
		}
		for i, item := range n.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			w.lines[p] = item.Line
			w.walk(item, t.Elem(), p)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			w.fail(n, path, fmt.Errorf("want a mapping (got %s)", describeNode(n)))
			return
		}
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			if first, dup := seen[k.Value]; dup {
				w.fail(k, path, fmt.Errorf("%w %q (first at line %d)", ErrDuplicateKey, k.Value, first))
				continue
			}
			seen[k.Value] = k.Line
			w.lines[p] = k.Line
			w.walk(v, t.Elem(), p)
		}
	case reflect.Interface:
		// Anything decodes into an interface.
	default:
		w.leaf(n, t, path)
	}
}

// mapping checks the keys of a YAML mapping against the struct t.
func (w *walker) mapping(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind != yaml.MappingNode {
		w.fail(n, path, fmt.Errorf("want a mapping (got %s)", describeNode(n)))
		return
	}
	fields, anyKey := structFields(t)
	seen := map[string]int{}
	w.mappingKeys(n, t, path, fields, anyKey, seen)
}

func (w *walker) mappingKeys(n *yaml.Node, t reflect.Type, path string, fields map[string]reflect.Type, anyKey bool, seen map[string]int) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			// "<<: *base" merges another mapping (or a list of them) in;
			// its keys belong to this struct.
			for j := 0; v.Kind == yaml.AliasNode && v.Alias != nil && j < 100; j++ {
				v = v.Alias
			}
			merged := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				merged = v.Content
			}
			for _, m := range merged {
				for j := 0; m.Kind == yaml.AliasNode && m.Alias != nil && j < 100; j++ {
					m = m.Alias
				}
				if m.Kind != yaml.MappingNode {
					w.fail(m, path, fmt.Errorf("want a mapping to merge with <<: (got %s)", describeNode(m)))
					continue
				}
				w.mappingKeys(m, t, path, fields, anyKey, map[string]int{})
			}
			continue
		}
		key := k.Value
		p := join(path, key)
		ft, known := fields[key]
		if !known {
			if !anyKey {
				w.fail(k, path, unknownField(key, fields))
			}
			continue
		}
		if first, dup := seen[key]; dup {
			w.fail(k, path, fmt.Errorf("%w %q (first at line %d)", ErrDuplicateKey, key, first))
			continue
		}
		seen[key] = k.Line
		w.lines[p] = k.Line
		w.walk(v, ft, p)
	}
}

// leaf decodes one value on its own to find a type mismatch at its path.
func (w *walker) leaf(n *yaml.Node, t reflect.Type, path string) {
	v := reflect.New(t)
	err := n.Decode(v.Interface())
	if err == nil {
		return
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		// A custom UnmarshalYAML explains itself; drop yaml.v3's
		// "line N:" since the FieldError carries the line.
		msg := err.Error()
		var te *yaml.TypeError
		if errors.As(err, &te) && len(te.Errors) > 0 {
			msg = te.Errors[0]
		}
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			msg = m[2]
		}
		w.fail(n, path, errors.New(msg))
		return
	}
	w.fail(n, path, fmt.Errorf("want %s (got %s)", describeType(t), describeNode(n)))
}

// structFields maps the YAML keys of struct t to their types, flattening
// ",inline" structs. anyKey is true when an inline map accepts any key.
func structFields(t reflect.Type) (fields map[string]reflect.Type, anyKey bool) {
	fields = map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(","+opts+",", ",inline,") {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			switch ft.Kind() {
			case reflect.Struct:
				inner, innerAny := structFields(ft)
				for k, v := range inner {
					fields[k] = v
				}
				anyKey = anyKey || innerAny
			case reflect.Map:
				anyKey = true
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name) // yaml.v3's default key
		}
		fields[name] = f.Type
	}
	return fields, anyKey
}

func unknownField(key string, fields map[string]reflect.Type) error {
	best, bestD := "", 3
	for name := range fields {
		if d := editDistance(key, name); d < bestD || (d == bestD && name < best) {
			best, bestD = name, d
		}
	}
	if best != "" {
		return fmt.Errorf("%w %q (did you mean %q?)", ErrUnknownField, key, best)
	}
	return fmt.Errorf("%w %q", ErrUnknownField, key)
}

// editDistance is the Levenshtein distance, used only to suggest a key.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "nothing"
}

func describeType(t reflect.Type) string {
	if t == durationType {
		return "a duration such as 10s, 1m30s or 2h"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	}
	return "a value of type " + t.String()
}
