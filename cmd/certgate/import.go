package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"github.com/certgate/certgate/internal/importer"
)

func newImportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import iis|nginx FILE -o certgate.yaml",
		Short: "Translate an IIS or nginx client-certificate setup into a certgate.yaml",
		Long: `Import reads an IIS applicationHost.config (with the output of
netsh http show sslcert) or an nginx.conf and writes a certgate.yaml that
enforces the same client-certificate policy. Each translated block has a
comment naming the source line. Everything that could not be translated as
written is reported on stderr (and with --report-json as JSON): settings
certgate has no equivalent for, settings translated to a stricter behaviour,
and files to export or placeholders to fill in. Security settings are never
dropped without a report entry.

Then export the files the report names and run certgate check. See docs/migrate.md.`,
	}
	cmd.AddCommand(newImportIISCmd(), newImportNginxCmd())
	return cmd
}

// importFlags are the flags both importers take.
type importFlags struct {
	output, reportJSON, upstream string
	force                        bool
}

func (f *importFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.output, "output", "o", "certgate.yaml", "the certgate.yaml to write")
	cmd.Flags().StringVar(&f.reportJSON, "report-json", "", "also write the report as JSON to this file")
	cmd.Flags().StringVar(&f.upstream, "upstream", "", "upstream URL for sites whose source names none (default "+importer.DefaultUpstream+")")
	cmd.Flags().BoolVar(&f.force, "force", false, "overwrite an existing output file")
}

func newImportIISCmd() *cobra.Command {
	var (
		f                    importFlags
		netsh, ctlFile, site string
	)
	cmd := &cobra.Command{
		Use:   "iis applicationHost.config [--netsh sslcert.txt] [--ctl-file ctl.pem] [--site NAME] -o certgate.yaml",
		Short: "Translate IIS sites, sslFlags, certificate mappings and HTTP.sys binding settings",
		Example: `  netsh http show sslcert > sslcert.txt          # on the IIS server
  certgate import iis applicationHost.config --netsh sslcert.txt -o certgate.yaml
  certgate import iis applicationHost.config --site "Contoso Intranet" --ctl-file ctl.pem -o intranet.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			o := importer.IISOptions{Name: args[0], CTLFile: ctlFile, Site: site, Upstream: f.upstream, Output: f.output}
			if netsh != "" {
				if o.Netsh, err = os.ReadFile(netsh); err != nil {
					return fmt.Errorf("--netsh: %w", err)
				}
				o.NetshName = netsh
			}
			if err := f.checkOutput(); err != nil {
				return err
			}
			res, err := importer.IIS(data, o)
			if err != nil {
				return err
			}
			return f.write(res, cmd.ErrOrStderr())
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&netsh, "netsh", "", "file with the output of \"netsh http show sslcert\" (revocation, CTL and mapper settings of the bindings)")
	cmd.Flags().StringVar(&ctlFile, "ctl-file", "", "PEM file with the CA certificates of the binding's CTL, exported from the Windows store")
	cmd.Flags().StringVar(&site, "site", "", "translate only this IIS site")
	return cmd
}

func newImportNginxCmd() *cobra.Command {
	var f importFlags
	cmd := &cobra.Command{
		Use:     "nginx nginx.conf -o certgate.yaml",
		Short:   "Translate nginx server blocks with ssl_verify_client, their locations and proxy_pass",
		Example: `  certgate import nginx /etc/nginx/nginx.conf -o certgate.yaml --report-json import-report.json`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.checkOutput(); err != nil {
				return err
			}
			res, err := importer.Nginx(args[0], importer.NginxOptions{Upstream: f.upstream, Output: f.output})
			if err != nil {
				return err
			}
			return f.write(res, cmd.ErrOrStderr())
		},
	}
	f.register(cmd)
	return cmd
}

func (f *importFlags) checkOutput() error {
	if f.force {
		return nil
	}
	if _, err := os.Stat(f.output); err == nil {
		return fmt.Errorf("%s exists; choose another -o or pass --force to overwrite it", f.output)
	}
	return nil
}

// write writes the config, the files it names that the import produced,
// and the report.
func (f *importFlags) write(res *importer.Result, stderr io.Writer) error {
	dir := filepath.Dir(f.output)
	names := make([]string, 0, len(res.Files))
	for n := range res.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if old, err := os.ReadFile(p); err == nil && !bytes.Equal(old, res.Files[n]) && !f.force {
			return fmt.Errorf("%s exists with other contents; pass --force to overwrite it", p)
		} else if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, res.Files[n], 0o644); err != nil {
			return err
		}
	}
	if err := os.WriteFile(f.output, res.YAML, 0o644); err != nil {
		return err
	}
	if f.reportJSON != "" {
		var b bytes.Buffer
		if err := res.Report.WriteJSON(&b); err != nil {
			return err
		}
		if err := os.WriteFile(f.reportJSON, b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	if err := res.Report.WriteText(stderr); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "next: export the files the report names, then: certgate check -c %s\n", f.output)
	return nil
}
