package revocation

import (
	"bytes"
	"hash/maphash"
	"math/bits"

	"github.com/certgate/certgate/internal/dname"
)

// index is the compact serial set of a CRL: all serials back to back in one
// arena, and an open-addressing hash table of (entry index, hash tag)
// words. A CRL of n entries costs about n*(serial length + 4 + 8 + 1) bytes
// plus 16 bytes per table slot, with no per-entry allocation and no
// pointers for the garbage collector to scan, and a lookup touches one
// table word (a miss, the common case) or one word plus one serial.
type index struct {
	seed   maphash.Seed
	mask   uint64
	slots  []uint64 // (entry+1)<<32 | hash tag; 0 = empty
	arena  []byte   // serials, normalized, concatenated
	offs   []uint32 // n+1 offsets into arena
	when   []int64  // revocation time, Unix seconds
	reason []uint8  // CRLReason, reasonAbsent when the entry has none
	// issuer is set only for indirect CRLs: per entry, an index into
	// issuers (0 is the CRL issuer itself).
	issuer  []uint16
	issuers [][]byte // raw Names
}

const reasonAbsent = 0xff

func newIndex(n, serialBytes int) index {
	size := uint64(1) << bits.Len64(uint64(n+n/2)) // load factor <= 2/3
	if size < 8 {
		size = 8
	}
	return index{
		seed:   maphash.MakeSeed(),
		mask:   size - 1,
		slots:  make([]uint64, size),
		arena:  make([]byte, 0, serialBytes),
		offs:   append(make([]uint32, 0, n+1), 0),
		when:   make([]int64, 0, n),
		reason: make([]uint8, 0, n),
	}
}

// add appends an entry and inserts it. Duplicates are kept: a lookup finds
// the first one added, which is the first one on the CRL.
func (x *index) add(serial []byte, when int64, reason uint8) {
	i := uint64(len(x.when))
	x.arena = append(x.arena, serial...)
	x.offs = append(x.offs, uint32(len(x.arena)))
	x.when = append(x.when, when)
	x.reason = append(x.reason, reason)
	h := maphash.Bytes(x.seed, serial)
	tag := h >> 32
	for p := h & x.mask; ; p = (p + 1) & x.mask {
		if x.slots[p] == 0 {
			x.slots[p] = (i+1)<<32 | tag
			return
		}
	}
}

func (x *index) len() int { return len(x.when) }

func (x *index) serial(i int) []byte { return x.arena[x.offs[i]:x.offs[i+1]] }

// find returns the index of the first entry with this (normalized) serial
// and, for indirect CRLs, whose certificate issuer is issuerName. It does
// not allocate.
func (x *index) find(serial []byte, issuerName []byte) (int, bool) {
	if len(x.when) == 0 {
		return 0, false
	}
	h := maphash.Bytes(x.seed, serial)
	tag := h >> 32
	for p := h & x.mask; ; p = (p + 1) & x.mask {
		s := x.slots[p]
		if s == 0 {
			return 0, false
		}
		if s&0xffffffff != tag {
			continue
		}
		i := int(s>>32) - 1
		if !bytes.Equal(x.serial(i), serial) {
			continue
		}
		if x.issuer != nil {
			if n := x.issuers[x.issuer[i]]; !bytes.Equal(n, issuerName) && !dname.Equal(n, issuerName) {
				continue
			}
		}
		return i, true
	}
}

// bytes is the heap memory held by the index, for logs and benchmarks.
func (x *index) bytes() int {
	return len(x.slots)*8 + cap(x.arena) + cap(x.offs)*4 + cap(x.when)*8 + cap(x.reason) + cap(x.issuer)*2
}
