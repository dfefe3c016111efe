package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// TODO(owner): replace this placeholder with the real command.
func newLintCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "lint",
		Short: "lint (not yet available)",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("lint: not yet available in this build")
		},
	}
}
