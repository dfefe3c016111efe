package importer

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/certgate/certgate/internal/config"
)

// Result is a translation: the certgate.yaml, the config it loads as, the
// files to write next to it and the report.
type Result struct {
	// YAML is the certgate.yaml text, comments included.
	YAML []byte
	// Config is YAML parsed back by config.Parse: defaults applied and
	// validated, the files it names not yet loaded.
	Config *config.Config
	// Files are written next to the config, keyed by path relative to its
	// directory (certificates of one-to-one mappings).
	Files map[string][]byte
	// Report lists everything not translated as written.
	Report *Report
}

// ErrInvalidOutput: the translation does not pass config.Parse. It is an
// importer bug; the source's values are checked before they reach the
// output (validHost), so no input should cause it.
var ErrInvalidOutput = errors.New("the translated config does not validate (an importer bug)")

// probe asks config's own validation whether a site with the value set
// by mod is accepted, so that a source value certgate would refuse (a host
// name, an upstream URL) is reported instead of emitted.
func probe(listen string, mod func(*config.Site)) error {
	s := config.Site{Name: "probe", Certificate: config.Certificate{Cert: "c", Key: "k"}, Upstream: config.UpstreamEcho}
	mod(&s)
	d := &document{listen: listen, sites: []*siteOut{{Site: s, comments: map[string][]string{}}}}
	_, err := d.render("probe.yaml", &Report{})
	return err
}

func validHost(h string) error { return probe("", func(s *config.Site) { s.Hosts = []string{h} }) }

func validUpstream(u string) error { return probe("", func(s *config.Site) { s.Upstream = u }) }

func validListen(addr string) error { return probe(addr, func(*config.Site) {}) }

// document is the translated config before it is written: config types
// plus the comments that name where each block came from.
type document struct {
	header        []string
	listen        string
	listenComment string
	sites         []*siteOut
	files         map[string][]byte
}

// siteOut is one translated site. comments are keyed by the field path
// inside the site ("" for the site itself, "client_auth.revocation",
// "locations[1]", "mapping.many_to_one[0]"); each becomes a comment above
// that key or list item.
type siteOut struct {
	config.Site
	comments map[string][]string
}

func newSite(name string) *siteOut {
	return &siteOut{Site: config.Site{Name: name}, comments: map[string][]string{}}
}

// note adds a comment line above the field at path.
func (s *siteOut) note(path, format string, args ...any) {
	s.comments[path] = append(s.comments[path], fmt.Sprintf(format, args...))
}

// render writes the document and parses it back with config.Parse, so a
// translation that certgate would not load is an error here, not a
// surprise at `certgate serve`. name is the output path: relative paths in
// the config resolve against its directory.
func (d *document) render(name string, rep *Report) (*Result, error) {
	root := &yaml.Node{Kind: yaml.MappingNode}
	if d.listen != "" {
		addPair(root, "listen", scalar(d.listen), comment([]string{d.listenComment}))
	}
	sites := &yaml.Node{Kind: yaml.SequenceNode}
	for i := range d.sites {
		s := d.sites[i]
		item := encodeStruct(reflect.ValueOf(s.Site), "", s.comments)
		item.HeadComment = comment(s.comments[""])
		sites.Content = append(sites.Content, item)
	}
	addPair(root, "sites", sites, "")
	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}, HeadComment: comment(d.header)}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode certgate.yaml: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode certgate.yaml: %w", err)
	}
	cfg, err := config.Parse(buf.Bytes(), name)
	if err != nil {
		return nil, fmt.Errorf("%w (please report it with the source file):\n%w\n--- translated config ---\n%s", ErrInvalidOutput, err, buf.Bytes())
	}
	for _, s := range d.sites {
		rep.Sites = append(rep.Sites, s.Name)
	}
	return &Result{YAML: buf.Bytes(), Config: cfg, Files: d.files, Report: rep}, nil
}

func comment(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		for _, part := range strings.Split(l, "\n") {
			out = append(out, "# "+printable(part))
		}
	}
	return strings.Join(out, "\n")
}

// printable makes source text safe for a YAML comment: the source may hold
// any bytes, and the YAML emitter refuses invalid UTF-8 and control
// characters in comments.
func printable(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0x7f || r >= 0x80 && r < 0xa0 || r == 0xfeff || r == 0x2028 || r == 0x2029 {
			return '\uFFFD'
		}
		return r
	}, s)
}

func scalar(v string) *yaml.Node {
	// A value must be text: YAML would write invalid UTF-8 as !!binary.
	v = strings.ToValidUTF8(v, "\uFFFD")
	n := &yaml.Node{}
	// Encode picks the quoting: "off" must stay a string, not a YAML 1.1
	// boolean.
	if err := n.Encode(v); err != nil {
		panic(err) // a string always encodes
	}
	return n
}

func addPair(m *yaml.Node, key string, v *yaml.Node, head string) {
	k := &yaml.Node{Kind: yaml.ScalarNode, Value: key, HeadComment: head}
	m.Content = append(m.Content, k, v)
}

// encodeStruct turns a config struct into a mapping node with the keys its
// yaml tags name, in declaration order, leaving out zero values so that the
// defaults of internal/config apply. A non-nil pointer is written even when
// it points at a zero value: that is how "send: false" is said.
func encodeStruct(v reflect.Value, path string, comments map[string][]string) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if !f.IsExported() || tag == "-" {
			continue
		}
		key, _, _ := strings.Cut(tag, ",")
		fv := v.Field(i)
		if fv.IsZero() {
			continue
		}
		p := key
		if path != "" {
			p = path + "." + key
		}
		n := encodeValue(fv, p, comments)
		if n == nil {
			continue
		}
		addPair(m, key, n, comment(comments[p]))
	}
	return m
}

var durationType = reflect.TypeOf(time.Duration(0))

func encodeValue(v reflect.Value, path string, comments map[string][]string) *yaml.Node {
	if v.Type() == durationType {
		return scalar(time.Duration(v.Int()).String())
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		e := v.Elem()
		if e.Kind() == reflect.Struct {
			return encodeStruct(e, path, comments)
		}
		return encodeValue(e, path, comments)
	case reflect.Struct:
		return encodeStruct(v, path, comments)
	case reflect.Slice:
		seq := &yaml.Node{Kind: yaml.SequenceNode}
		scalars := true
		for i := 0; i < v.Len(); i++ {
			p := path + "[" + strconv.Itoa(i) + "]"
			item := encodeValue(v.Index(i), p, comments)
			if item == nil {
				item = &yaml.Node{Kind: yaml.MappingNode}
			}
			item.HeadComment = comment(comments[p])
			if item.Kind != yaml.ScalarNode || item.HeadComment != "" {
				scalars = false
			}
			seq.Content = append(seq.Content, item)
		}
		if scalars {
			seq.Style = yaml.FlowStyle
		}
		return seq
	case reflect.Map:
		m := &yaml.Node{Kind: yaml.MappingNode}
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		for _, k := range keys {
			addPair(m, k, encodeValue(v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key())), path+"."+k, comments), "")
		}
		return m
	case reflect.String:
		return scalar(v.String())
	case reflect.Bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v.Bool())}
	case reflect.Int, reflect.Int64, reflect.Int32:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(v.Int(), 10)}
	}
	panic(fmt.Sprintf("importer: cannot encode %s at %s", v.Type(), path))
}
