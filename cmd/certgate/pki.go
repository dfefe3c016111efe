package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// TODO(owner): replace this placeholder with the real command.
func newPKICmd() *cobra.Command {
	return &cobra.Command{
		Use:   "pki",
		Short: "pki (not yet available)",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("pki: not yet available in this build")
		},
	}
}
