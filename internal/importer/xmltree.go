package importer

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits on an applicationHost.config. Real ones are tens to hundreds of
// kilobytes with a nesting depth near 10.
const (
	maxXMLBytes    = 32 << 20
	maxXMLDepth    = 64
	maxXMLElements = 1 << 20
)

// xnode is an XML element with the line its start tag begins on.
type xnode struct {
	name  string
	attrs []xml.Attr
	kids  []*xnode
	line  int
}

// attr returns the attribute's value; IIS attribute names are
// case-sensitive, as in its schema.
func (n *xnode) attr(name string) (string, bool) {
	for _, a := range n.attrs {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// child returns the first descendant along names, or nil.
func (n *xnode) child(names ...string) *xnode {
	cur := n
	for _, name := range names {
		var next *xnode
		for _, k := range cur.kids {
			if k.name == name {
				next = k
				break
			}
		}
		if next == nil {
			return nil
		}
		cur = next
	}
	return cur
}

// children returns the direct children named name.
func (n *xnode) children(name string) []*xnode {
	var out []*xnode
	for _, k := range n.kids {
		if k.name == name {
			out = append(out, k)
		}
	}
	return out
}

// parseXML reads an XML document into a tree. encoding/xml never fetches
// external entities or DTDs, so the remaining risks are size and depth,
// both bounded.
func parseXML(name string, data []byte) (*xnode, error) {
	if len(data) > maxXMLBytes {
		return nil, fmt.Errorf("read %s: %d bytes, more than the %d an applicationHost.config can plausibly be", name, len(data), maxXMLBytes)
	}
	// applicationHost.config is often saved as UTF-8 with a BOM.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.CharsetReader = func(charset string, r io.Reader) (io.Reader, error) {
		if strings.EqualFold(charset, "utf-8") || strings.EqualFold(charset, "us-ascii") {
			return r, nil
		}
		return nil, fmt.Errorf("encoding %q not supported; save the file as UTF-8", charset)
	}
	var (
		root     *xnode
		stack    []*xnode
		count    int
		lastOff  int64
		lastLine = 1
	)
	lineAt := func(off int64) int {
		if off < lastOff {
			lastOff, lastLine = 0, 1
		}
		lastLine += bytes.Count(data[lastOff:off], []byte("\n"))
		lastOff = off
		return lastLine
	}
	for {
		off := d.InputOffset()
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if count++; count > maxXMLElements {
				return nil, fmt.Errorf("parse %s: more than %d elements", name, maxXMLElements)
			}
			if len(stack) >= maxXMLDepth {
				return nil, fmt.Errorf("parse %s:%d: elements nested deeper than %d", name, lineAt(off), maxXMLDepth)
			}
			n := &xnode{name: t.Name.Local, attrs: t.Attr, line: lineAt(off)}
			if len(stack) == 0 {
				if root != nil {
					return nil, fmt.Errorf("parse %s:%d: a second root element <%s>", name, n.line, n.name)
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	if root == nil {
		return nil, fmt.Errorf("parse %s: no XML element found", name)
	}
	return root, nil
}
