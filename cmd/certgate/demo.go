package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// TODO(owner): replace this placeholder with the real command.
func newDemoCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "demo (not yet available)",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("demo: not yet available in this build")
		},
	}
}
