package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/stylize/stylize/pipeline/option"
)

// newFlags makes a subcommand's flag set: -h prints the synopsis, then
// about (if any), then every flag with its type and help.
func newFlags(name, synopsis, about string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: "+synopsis)
		if about != "" {
			fmt.Fprint(stderr, about)
		}
		printDefaults(stderr, fs)
	}
	return fs
}

// printDefaults is flag.PrintDefaults with the option tables' type names.
func printDefaults(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		typ, usage := flag.UnquoteUsage(f)
		if tn, ok := f.Value.(interface{ TypeName() string }); ok {
			typ = tn.TypeName()
		}
		if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
			typ = ""
		}
		line := "  -" + f.Name
		if typ != "" {
			line += " " + typ
		}
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "%s\n    \t%s\n", line, strings.ReplaceAll(usage, "\n", "\n    \t"))
	})
}

// parseArgs parses flags that may come before or after the positional
// arguments ("image in.jpg -o out.png" works too).
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// parseN is parseArgs wanting exactly n positional arguments (want
// names them in the message).
func parseN(fs *flag.FlagSet, args []string, n int, want string) ([]string, error) {
	pos, err := parseArgs(fs, args)
	if err == nil && len(pos) != n {
		err = usagef("%s: want %s, got %d (run stylize %s -h)", fs.Name(), want, len(pos), fs.Name())
	}
	return pos, err
}

// flagErrors turns the problems of an option table into one usage error
// naming each flag: "video: --height 145: want an even number …; --crf 60: …".
func flagErrors(cmd string, err error) error {
	if err == nil {
		return nil
	}
	var msgs []string
	for _, e := range option.Leaves(err) {
		var oe *option.Error
		if errors.As(e, &oe) {
			msgs = append(msgs, "--"+strings.ReplaceAll(oe.Key, "_", "-")+" "+oe.Message())
		} else {
			msgs = append(msgs, e.Error())
		}
	}
	return usagef("%s: %s", cmd, strings.Join(msgs, "; "))
}
