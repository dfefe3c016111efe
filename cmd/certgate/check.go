package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// TODO(owner): replace this placeholder with the real command.
func newCheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "check (not yet available)",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("check: not yet available in this build")
		},
	}
}
