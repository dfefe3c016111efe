package gateway

import (
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"os"
	"strconv"

	"github.com/certgate/certgate/internal/config"
)

// Session-ticket key files hold 48 or 80 random bytes, the two sizes
// nginx's ssl_session_ticket_key accepts, so that a fleet can keep the
// files it already rotates.
const (
	ticketKeySizeShort = 48
	ticketKeySizeLong  = 80
)

// loadTicketKeys reads session_tickets.keys in order (the first seals new
// tickets). Errors name the field and file.
func loadTicketKeys(cfg *config.Config) ([][]byte, error) {
	var keys [][]byte
	for i, path := range cfg.SessionTickets.Keys {
		field := "session_tickets.keys[" + strconv.Itoa(i) + "]"
		b, err := readTicketKey(path)
		if err != nil {
			return nil, cfg.FieldErr(field, err)
		}
		keys = append(keys, b)
	}
	return keys, nil
}

func readTicketKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read session ticket key: %w", err)
	}
	defer f.Close()
	// One byte more than the largest size tells a too-long file apart
	// without reading an arbitrary file into memory.
	buf := make([]byte, ticketKeySizeLong+1)
	n, _ := f.Read(buf)
	for n < len(buf) {
		m, err := f.Read(buf[n:])
		n += m
		if err != nil || m == 0 {
			break
		}
	}
	if n != ticketKeySizeShort && n != ticketKeySizeLong {
		size := strconv.Itoa(n) + " bytes"
		if n > ticketKeySizeLong {
			size = "more than " + strconv.Itoa(ticketKeySizeLong) + " bytes"
		}
		return nil, fmt.Errorf("%w: %s has %s, want exactly %d or %d random bytes (certgate pki ticket-key -o FILE writes one)",
			ErrBadTicketKey, path, size, ticketKeySizeShort, ticketKeySizeLong)
	}
	return buf[:n], nil
}

// siteTicketKeys derives a site's ticket keys from the shared files with
// HKDF-SHA256, the site name as context: the same files give the same
// keys on every instance, and different keys per site, so that a ticket
// issued by a site that never asks for a certificate cannot resume on one
// that requires it (see newSite).
func siteTicketKeys(master [][]byte, siteName string) ([][32]byte, error) {
	out := make([][32]byte, len(master))
	for i, m := range master {
		k, err := hkdf.Key(sha256.New, m, []byte("certgate session ticket key"), "site "+siteName, 32)
		if err != nil {
			return nil, fmt.Errorf("derive session ticket key: %w", err)
		}
		copy(out[i][:], k)
	}
	return out, nil
}
