package logs

import (
	"bytes"
	"strings"
)

// The fields the summaries read; other fields are split over but not kept.
const (
	slotDate = iota
	slotTime
	slotStatus
	slotSub
	slotWin32
	slotSite
	slotHost
	slotClient
	slotStem
	numSlots
)

var slotNames = [numSlots]string{
	slotDate:   "date",
	slotTime:   "time",
	slotStatus: "sc-status",
	slotSub:    "sc-substatus",
	slotWin32:  "sc-win32-status",
	slotSite:   "s-sitename",
	slotHost:   "cs-host",
	slotClient: "c-ip",
	slotStem:   "cs-uri-stem",
}

// Layout is one #Fields directive: the position of each field the
// summaries read.
type Layout struct {
	// Fields are the names in directive order.
	Fields []string
	// slotOf[i] is the slot of field i, or -1.
	slotOf []int8
	has    [numSlots]bool
}

// NewLayout builds the layout of a "#Fields:" directive's names.
func NewLayout(fields []string) *Layout {
	l := &Layout{Fields: fields, slotOf: make([]int8, len(fields))}
	for i, f := range fields {
		l.slotOf[i] = -1
		for s, name := range slotNames {
			// Field names are case-insensitive in practice: IIS writes
			// cs(User-Agent), some tools rewrite it cs(user-agent).
			if strings.EqualFold(f, name) && !l.has[s] {
				l.slotOf[i] = int8(s)
				l.has[s] = true
			}
		}
	}
	return l
}

// Has reports whether the layout carries the named summary field.
func (l *Layout) Has(field string) bool {
	for s, name := range slotNames {
		if name == field {
			return l.has[s]
		}
	}
	return false
}

// Record is one request line's values, as sub-slices of the line (valid
// until the next line is read). Absent fields are nil; "-" is kept as is.
type Record struct {
	Date, Time, Site, Host, Client, Stem []byte
	Status, Sub                          int
	Win32                                uint32
}

// ParseLine splits one request line (without its newline) by l into r.
// W3C extended logs separate values with one space; a value never holds a
// space (IIS writes '+').
func ParseLine(line []byte, l *Layout, r *Record) error {
	if !l.has[slotStatus] {
		return ErrNoStatus
	}
	var vals [numSlots][]byte
	n := 0
	for start := 0; ; {
		end := bytes.IndexByte(line[start:], ' ')
		last := end < 0
		if last {
			end = len(line)
		} else {
			end += start
		}
		if n >= len(l.slotOf) {
			return ErrFieldCount
		}
		if s := l.slotOf[n]; s >= 0 {
			vals[s] = line[start:end]
		}
		n++
		if last {
			break
		}
		start = end + 1
	}
	if n != len(l.slotOf) {
		return ErrFieldCount
	}
	var ok bool
	if r.Status, ok = atoi(vals[slotStatus]); !ok {
		return ErrBadStatus
	}
	r.Sub = 0
	if v := vals[slotSub]; v != nil && !isDash(v) {
		if r.Sub, ok = atoi(v); !ok {
			return ErrBadStatus
		}
	}
	r.Win32 = 0
	if v := vals[slotWin32]; v != nil && !isDash(v) {
		w, ok := atoi(v)
		if !ok || w > 1<<32-1 {
			return ErrBadStatus
		}
		r.Win32 = uint32(w)
	}
	r.Date, r.Time = vals[slotDate], vals[slotTime]
	if r.Date != nil && !validDate(r.Date) || r.Time != nil && !validTime(r.Time) {
		return ErrBadTime
	}
	r.Site, r.Host, r.Client, r.Stem = vals[slotSite], vals[slotHost], vals[slotClient], vals[slotStem]
	return nil
}

func isDash(b []byte) bool { return len(b) == 1 && b[0] == '-' }

// atoi parses a non-negative decimal of at most 10 digits.
func atoi(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func digits(b []byte, idx ...int) bool {
	for _, i := range idx {
		if b[i] < '0' || b[i] > '9' {
			return false
		}
	}
	return true
}

// validDate accepts 2006-01-02.
func validDate(b []byte) bool {
	return len(b) == 10 && b[4] == '-' && b[7] == '-' && digits(b, 0, 1, 2, 3, 5, 6, 8, 9)
}

// validTime accepts 15:04:05, with the optional fraction some writers add.
func validTime(b []byte) bool {
	return len(b) >= 8 && b[2] == ':' && b[5] == ':' && digits(b, 0, 1, 3, 4, 6, 7)
}
