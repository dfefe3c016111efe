package importer

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// directive is one nginx directive: "name arg...;" or "name arg... { ... }",
// with the file and line of its name. Directives of included files appear
// in place of the include, with their own file and line.
type directive struct {
	name     string
	args     []string
	file     string
	line     int
	hasBlock bool
	block    []*directive
}

// where is "file:line", for comments and the report.
func (d *directive) where() string { return fmt.Sprintf("%s:%d", d.file, d.line) }

// text is the directive as written, without its block: `ssl_verify_client optional`.
func (d *directive) text() string {
	parts := []string{d.name}
	for _, a := range d.args {
		if a == "" || strings.ContainsAny(a, " \t\r\n;{}\"'") {
			a = strconv.Quote(a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// Limits of the parser. nginx configs are small; these stop a hostile or
// broken file (or an include cycle) from taking the importer down.
const (
	maxNginxFileBytes  = 8 << 20
	maxNginxTotalBytes = 64 << 20
	maxNginxDepth      = 64
	maxNginxIncludes   = 16 // include nesting
	maxNginxFiles      = 512
	maxNginxArgs       = 1024
)

// nginxSource reads files and expands include globs; the parser does no
// I/O of its own, so the fuzz target can run it on a map of files.
type nginxSource struct {
	read func(name string) ([]byte, error)
	glob func(pattern string) ([]string, error)
	// prefix is the directory relative includes resolve against: nginx's
	// configuration prefix, the directory of the main nginx.conf (not
	// the directory of the including file).
	prefix string
	// join and isAbs are the path functions of the source (filepath for
	// real files, path for the fuzz map).
	join  func(elem ...string) string
	isAbs func(string) bool

	files, total int
}

// osNginxSource reads real files.
func osNginxSource(main string, read func(string) ([]byte, error)) *nginxSource {
	return &nginxSource{read: read, glob: filepath.Glob, prefix: filepath.Dir(main), join: filepath.Join, isAbs: filepath.IsAbs}
}

// mapNginxSource is a source over in-memory files with slash paths.
func mapNginxSource(files map[string][]byte) *nginxSource {
	return &nginxSource{
		read: func(n string) ([]byte, error) {
			b, ok := files[n]
			if !ok {
				return nil, fmt.Errorf("open %s: no such file", n)
			}
			return b, nil
		},
		glob: func(p string) ([]string, error) {
			var out []string
			for n := range files {
				if ok, err := path.Match(p, n); err != nil {
					return nil, err
				} else if ok {
					out = append(out, n)
				}
			}
			slices.Sort(out)
			return out, nil
		},
		prefix: ".", join: path.Join, isAbs: path.IsAbs,
	}
}

// parseNginx parses the file name and every file it includes.
func (src *nginxSource) parseFile(name string, depth int) ([]*directive, error) {
	if src.files++; src.files > maxNginxFiles {
		return nil, fmt.Errorf("%s: more than %d files included", name, maxNginxFiles)
	}
	data, err := src.read(name)
	if err != nil {
		return nil, err
	}
	if len(data) > maxNginxFileBytes {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d an nginx config file can plausibly be", name, len(data), maxNginxFileBytes)
	}
	if src.total += len(data); src.total > maxNginxTotalBytes {
		return nil, fmt.Errorf("%s: the included files exceed %d bytes in all", name, maxNginxTotalBytes)
	}
	p := &nginxParser{src: src, file: name, data: data, line: 1, incDepth: depth}
	ds, err := p.block(0)
	if err != nil {
		return nil, err
	}
	return ds, nil
}

// nginxParser is the lexer and parser of one file, after nginx's
// ngx_conf_read_token: tokens are separated by white space; ';' ends a
// directive, '{' opens its block, '}' closes it; '#' at the start of a
// token comments to the end of the line; "..." and '...' quote, and a
// quote must be followed by white space, ';', '{' or ')'. In and out of
// quotes, \" \' \\ stand for the character and \t \r \n for tab, CR and
// LF; a backslash before anything else stays. "${" inside a word does not
// open a block (variable syntax).
type nginxParser struct {
	src      *nginxSource
	file     string
	data     []byte
	pos      int
	line     int
	incDepth int
}

type tokKind int

const (
	tokWord tokKind = iota
	tokSemi
	tokOpen
	tokClose
	tokEOF
)

type ntoken struct {
	kind tokKind
	val  string
	line int
}

func (p *nginxParser) errf(line int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", p.file, line, fmt.Sprintf(format, args...))
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// next returns the next token.
func (p *nginxParser) next() (ntoken, error) {
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '\n':
			p.line++
			p.pos++
		case isSpace(c):
			p.pos++
		case c == '#':
			for p.pos < len(p.data) && p.data[p.pos] != '\n' {
				p.pos++
			}
		default:
			return p.token()
		}
	}
	return ntoken{kind: tokEOF, line: p.line}, nil
}

func (p *nginxParser) token() (ntoken, error) {
	line := p.line
	c := p.data[p.pos]
	switch c {
	case ';':
		p.pos++
		return ntoken{kind: tokSemi, line: line}, nil
	case '{':
		p.pos++
		return ntoken{kind: tokOpen, line: line}, nil
	case '}':
		p.pos++
		return ntoken{kind: tokClose, line: line}, nil
	case '"', '\'':
		p.pos++
		var b strings.Builder
		for {
			if p.pos >= len(p.data) {
				return ntoken{}, p.errf(line, "unexpected end of file, expecting %q", c)
			}
			ch := p.data[p.pos]
			if ch == c {
				p.pos++
				break
			}
			if ch == '\n' {
				p.line++
			}
			if ch == '\\' && p.pos+1 < len(p.data) {
				p.pos += p.escape(&b)
				continue
			}
			b.WriteByte(ch)
			p.pos++
		}
		if p.pos < len(p.data) {
			if n := p.data[p.pos]; !isSpace(n) && n != ';' && n != '{' && n != ')' {
				return ntoken{}, p.errf(p.line, "unexpected %q after a quoted string", n)
			}
		}
		return ntoken{kind: tokWord, val: b.String(), line: line}, nil
	}
	var b strings.Builder
	variable := false
	for p.pos < len(p.data) {
		ch := p.data[p.pos]
		if ch == '{' && variable {
			// "${name}": the brace belongs to the word.
			b.WriteByte(ch)
			p.pos++
			variable = false
			continue
		}
		variable = false
		if isSpace(ch) || ch == ';' || ch == '{' {
			break
		}
		switch ch {
		case '\\':
			if p.pos+1 >= len(p.data) {
				b.WriteByte(ch)
				p.pos++
				continue
			}
			if p.data[p.pos+1] == '\n' {
				p.line++
			}
			p.pos += p.escape(&b)
			continue
		case '$':
			variable = true
		}
		b.WriteByte(ch)
		p.pos++
	}
	return ntoken{kind: tokWord, val: b.String(), line: line}, nil
}

// escape consumes a backslash sequence at p.pos, writes its value and
// returns its length.
func (p *nginxParser) escape(b *strings.Builder) int {
	n := p.data[p.pos+1]
	switch n {
	case '"', '\'', '\\':
		b.WriteByte(n)
	case 't':
		b.WriteByte('\t')
	case 'r':
		b.WriteByte('\r')
	case 'n':
		b.WriteByte('\n')
	default:
		b.WriteByte('\\')
		b.WriteByte(n)
	}
	return 2
}

// block parses directives until '}' (depth > 0) or the end of the file.
func (p *nginxParser) block(depth int) ([]*directive, error) {
	if depth > maxNginxDepth {
		return nil, p.errf(p.line, "blocks nested deeper than %d", maxNginxDepth)
	}
	var out []*directive
	for {
		t, err := p.next()
		if err != nil {
			return nil, err
		}
		switch t.kind {
		case tokEOF:
			if depth > 0 {
				return nil, p.errf(t.line, "unexpected end of file, expecting \"}\"")
			}
			return out, nil
		case tokClose:
			if depth == 0 {
				return nil, p.errf(t.line, "unexpected \"}\"")
			}
			return out, nil
		case tokSemi:
			return nil, p.errf(t.line, "unexpected \";\"")
		case tokOpen:
			return nil, p.errf(t.line, "unexpected \"{\"")
		}
		d := &directive{name: t.val, file: p.file, line: t.line}
	args:
		for {
			a, err := p.next()
			if err != nil {
				return nil, err
			}
			switch a.kind {
			case tokWord:
				if len(d.args) >= maxNginxArgs {
					return nil, p.errf(a.line, "directive %q has more than %d arguments", d.name, maxNginxArgs)
				}
				d.args = append(d.args, a.val)
			case tokSemi:
				break args
			case tokOpen:
				d.hasBlock = true
				if d.block, err = p.block(depth + 1); err != nil {
					return nil, err
				}
				break args
			case tokClose:
				return nil, p.errf(a.line, "unexpected \"}\" in directive %q (missing \";\"?)", d.name)
			case tokEOF:
				return nil, p.errf(a.line, "unexpected end of file in directive %q, expecting \";\" or \"{\"", d.name)
			}
		}
		if d.name == "include" && !d.hasBlock {
			inc, err := p.include(d)
			if err != nil {
				return nil, err
			}
			out = append(out, inc...)
			continue
		}
		out = append(out, d)
	}
}

// include parses the files an include directive names, relative to the
// configuration prefix. A glob that matches nothing is no error (nginx
// behaves so); a plain name that does not exist is.
func (p *nginxParser) include(d *directive) ([]*directive, error) {
	if len(d.args) != 1 {
		return nil, p.errf(d.line, "include takes one file name or glob (got %d arguments)", len(d.args))
	}
	if p.incDepth >= maxNginxIncludes {
		return nil, p.errf(d.line, "includes nested deeper than %d (an include cycle?)", maxNginxIncludes)
	}
	name := d.args[0]
	if !p.src.isAbs(name) {
		name = p.src.join(p.src.prefix, name)
	}
	var files []string
	if strings.ContainsAny(name, "*?[") {
		var err error
		if files, err = p.src.glob(name); err != nil {
			return nil, p.errf(d.line, "include %q: %v", d.args[0], err)
		}
	} else {
		files = []string{name}
	}
	var out []*directive
	for _, f := range files {
		ds, err := p.src.parseFile(f, p.incDepth+1)
		if err != nil {
			var pe *includeError
			if errors.As(err, &pe) {
				return nil, err
			}
			return nil, &includeError{msg: fmt.Sprintf("%s:%d: include %s: %v", p.file, d.line, d.args[0], err), err: err}
		}
		out = append(out, ds...)
	}
	return out, nil
}

// includeError keeps the chain of includes in one message without
// repeating it at every level.
type includeError struct {
	msg string
	err error
}

func (e *includeError) Error() string { return e.msg }
func (e *includeError) Unwrap() error { return e.err }
