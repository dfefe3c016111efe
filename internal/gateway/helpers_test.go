package gateway

import (
	"encoding/asn1"

	"github.com/certgate/certgate/internal/config"
)

func asn1Unmarshal(b []byte, v any) ([]byte, error) { return asn1.Unmarshal(b, v) }

func issuerListConfig(send *bool, warn, max int) config.IssuerList {
	c := config.IssuerList{Send: send}
	if warn > 0 {
		c.WarnBytes = &warn
	}
	if max > 0 {
		c.MaxBytes = &max
	}
	return c
}
