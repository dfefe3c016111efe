// Package archtest holds no code: its test enforces who may import whom
// (docs/architecture.md), so that the layering survives the next change.
package archtest
