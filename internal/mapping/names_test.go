package mapping

import (
	"strings"
	"testing"
)

func TestParseFingerprint(t *testing.T) {
	want := [32]byte{0x3f, 0x2a, 0x00, 0x11}
	for _, in := range []string{
		"3f2a0011" + strings.Repeat("00", 28),
		"3F:2A:00:11" + strings.Repeat(":00", 28),
		"3f 2a 00 11" + strings.Repeat(" 00", 28),
		"sha256 Fingerprint=3F:2A:00:11" + strings.Repeat(":00", 28),
	} {
		got, err := ParseFingerprint(in)
		if err != nil || got != want {
			t.Errorf("ParseFingerprint(%q) = %x, %v", in, got, err)
		}
	}
}

func TestCheckNames(t *testing.T) {
	tests := []struct {
		name      string
		userOK    bool
		groupOK   bool
		errSubstr string
	}{
		{"alice", true, true, ""},
		{"Doe, John", true, false, "comma"},
		{"jörg@corp.example", true, true, ""},
		{"", false, false, "empty"},
		{" alice", false, false, "white space"},
		{"a\r\nX-Evil: 1", false, false, "control character"},
		{"a\x7f", false, false, "control character"},
		{"a\u0085b", false, false, "control character"},
		{strings.Repeat("a", 257), false, false, "longer than 256"},
		{"a\xff", false, false, "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := CheckUserName(tt.name); (err == nil) != tt.userOK || (err != nil && !strings.Contains(err.Error(), tt.errSubstr)) {
				t.Errorf("CheckUserName = %v, want ok=%v (%s)", err, tt.userOK, tt.errSubstr)
			}
			if err := CheckGroupName(tt.name); (err == nil) != tt.groupOK || (err != nil && !strings.Contains(err.Error(), tt.errSubstr)) {
				t.Errorf("CheckGroupName = %v, want ok=%v (%s)", err, tt.groupOK, tt.errSubstr)
			}
		})
	}
}
