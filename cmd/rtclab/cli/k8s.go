package cli

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/rtclab/rtclab/shard"
)

func newK8sCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "k8s",
		Short: "Print Kubernetes manifests that run rtclab at scale",
	}
	cmd.AddCommand(newK8sJobCmd(env))
	return cmd
}

// jobParams are the choices of `rtclab k8s job`.
type jobParams struct {
	Name, Image, PVC, Results string
	Shards, Parallelism       int
	CPU, Memory               string
	// Args is the rtclab command each pod runs (sweep, run or matrix and
	// its arguments), without --shard and --out.
	Args []string
}

// shardableCommands can be split with --shard.
var shardableCommands = []string{"sweep", "run", "matrix"}

// dnsLabel is what Kubernetes accepts as a Job name (RFC 1123 label; 63
// characters less the suffix the Job controller adds to pod names).
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?$`)

func newK8sJobCmd(env *Env) *cobra.Command {
	p := jobParams{}
	cmd := &cobra.Command{
		Use:   "job --image IMAGE --shards N -- COMMAND [ARGS...]",
		Short: "Print an Indexed Job that runs a sweep, matrix or scenario set as N shards",
		Long: `Print a Kubernetes Job (batch/v1, completionMode: Indexed) that runs
'rtclab COMMAND ARGS --shard I/N --out RESULTS/shard-I' in N pods, I being
the pod's completion index (JOB_COMPLETION_INDEX, set by the Job
controller). COMMAND is sweep, run or matrix. Every pod writes into one
shared volume, a PersistentVolumeClaim (--pvc) that pods on several nodes
can mount at once (ReadWriteMany). When the Job is complete, put the
shards together with

  rtclab merge RESULTS/shard-* --out RESULTS/merged

(e.g. from a pod that mounts the same claim). The image must have rtclab
on its PATH. Each pod needs about one core: a virtual-time run uses one.

Apply with: rtclab k8s job ... | kubectl apply -f -`,
		Example: `  rtclab k8s job --image ghcr.io/me/rtclab:dev --shards 10 --pvc lab-results -- \
    sweep quickstart --vary 'participants.bob.downlink.loss=0%..10%/1%' --vary seed=1..20`,
		RunE: func(cmd *cobra.Command, args []string) error {
			p.Args = args
			if err := p.validate(cmd.Flags().Changed("parallelism")); err != nil {
				return &UsageError{Err: err}
			}
			out, err := jobManifest(p)
			if err != nil {
				return err
			}
			_, err = env.Stdout.Write(out)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.Image, "image", "", "container image with rtclab on its PATH (required)")
	f.IntVar(&p.Shards, "shards", 0, "number of shards: the Job's completions (required)")
	f.IntVar(&p.Parallelism, "parallelism", 0, "pods running at once (default: --shards)")
	f.StringVar(&p.Name, "name", "", "the Job's name (default rtclab-COMMAND)")
	f.StringVar(&p.PVC, "pvc", "rtclab-results", "PersistentVolumeClaim the shards write into (ReadWriteMany)")
	f.StringVar(&p.Results, "results", "/results", "where the claim is mounted in each pod")
	f.StringVar(&p.CPU, "cpu", "1", "CPU each pod requests")
	f.StringVar(&p.Memory, "memory", "2Gi", "memory each pod requests")
	return cmd
}

func (p *jobParams) validate(parallelismSet bool) error {
	var errs []string
	if p.Image == "" {
		errs = append(errs, "--image is required")
	}
	if p.Shards < 1 || p.Shards > shard.Max {
		errs = append(errs, fmt.Sprintf("--shards %d: allowed 1..%d", p.Shards, shard.Max))
	}
	if !parallelismSet {
		p.Parallelism = p.Shards
	}
	if p.Parallelism < 1 || p.Parallelism > p.Shards && p.Shards > 0 {
		errs = append(errs, fmt.Sprintf("--parallelism %d: allowed 1..--shards", p.Parallelism))
	}
	if len(p.Args) == 0 || !slices.Contains(shardableCommands, p.Args[0]) {
		errs = append(errs, "after --, the rtclab command each pod runs: "+strings.Join(shardableCommands, ", ")+" and its arguments")
	}
	for _, a := range p.Args {
		for _, own := range []string{"--shard", "--out", "-o"} {
			if a == own || strings.HasPrefix(a, own+"=") {
				errs = append(errs, fmt.Sprintf("%s: the Job sets it for each pod (%s/shard-I)", own, p.Results))
			}
		}
	}
	if p.Name == "" && len(p.Args) > 0 {
		p.Name = "rtclab-" + p.Args[0]
	}
	if !dnsLabel.MatchString(p.Name) {
		errs = append(errs, fmt.Sprintf("--name %q: lower-case letters, digits and '-', at most 52 characters, starting and ending with a letter or digit", p.Name))
	}
	if !dnsLabel.MatchString(p.PVC) {
		errs = append(errs, fmt.Sprintf("--pvc %q: a claim name (lower-case letters, digits and '-')", p.PVC))
	}
	if !strings.HasPrefix(p.Results, "/") {
		errs = append(errs, fmt.Sprintf("--results %q: an absolute path", p.Results))
	}
	if len(errs) > 0 {
		return fmt.Errorf("k8s job: %s", strings.Join(errs, "; "))
	}
	return nil
}

// The manifest's shape: the fields of batch/v1 Job rtclab sets, with
// Kubernetes' field names (TestK8sJobManifest decodes it strictly into
// the API types of k8s.io/api).
type (
	k8sJob struct {
		APIVersion string     `yaml:"apiVersion"`
		Kind       string     `yaml:"kind"`
		Metadata   k8sMeta    `yaml:"metadata"`
		Spec       k8sJobSpec `yaml:"spec"`
	}
	k8sMeta struct {
		Name   string            `yaml:"name,omitempty"`
		Labels map[string]string `yaml:"labels"`
	}
	k8sJobSpec struct {
		CompletionMode string         `yaml:"completionMode"`
		Completions    int            `yaml:"completions"`
		Parallelism    int            `yaml:"parallelism"`
		BackoffLimit   int            `yaml:"backoffLimit"`
		Template       k8sPodTemplate `yaml:"template"`
	}
	k8sPodTemplate struct {
		Metadata k8sMeta    `yaml:"metadata"`
		Spec     k8sPodSpec `yaml:"spec"`
	}
	k8sPodSpec struct {
		RestartPolicy string         `yaml:"restartPolicy"`
		Containers    []k8sContainer `yaml:"containers"`
		Volumes       []k8sVolume    `yaml:"volumes"`
	}
	k8sContainer struct {
		Name         string       `yaml:"name"`
		Image        string       `yaml:"image"`
		Command      []string     `yaml:"command"`
		Args         []string     `yaml:"args"`
		Resources    k8sResources `yaml:"resources"`
		VolumeMounts []k8sMount   `yaml:"volumeMounts"`
	}
	k8sResources struct {
		Requests map[string]string `yaml:"requests"`
	}
	k8sMount struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	}
	k8sVolume struct {
		Name                  string    `yaml:"name"`
		PersistentVolumeClaim k8sPVCRef `yaml:"persistentVolumeClaim"`
	}
	k8sPVCRef struct {
		ClaimName string `yaml:"claimName"`
	}
)

// completionIndex is the variable the Job controller sets in each pod of
// an Indexed Job; Kubernetes expands $(NAME) in a container's args.
const completionIndex = "$(JOB_COMPLETION_INDEX)"

// jobManifest renders the Indexed Job of p as YAML.
func jobManifest(p jobParams) ([]byte, error) {
	labels := map[string]string{"app.kubernetes.io/name": "rtclab", "app.kubernetes.io/instance": p.Name}
	args := append(slices.Clone(p.Args),
		"--shard", completionIndex+"/"+strconv.Itoa(p.Shards),
		"--out", strings.TrimSuffix(p.Results, "/")+"/shard-"+completionIndex,
		// A pod that is retried writes over what its failed try left.
		"--overwrite")
	job := k8sJob{
		APIVersion: "batch/v1", Kind: "Job",
		Metadata: k8sMeta{Name: p.Name, Labels: labels},
		Spec: k8sJobSpec{
			CompletionMode: "Indexed", Completions: p.Shards, Parallelism: p.Parallelism,
			BackoffLimit: p.Shards,
			Template: k8sPodTemplate{
				Metadata: k8sMeta{Labels: labels},
				Spec: k8sPodSpec{
					RestartPolicy: "Never",
					Containers: []k8sContainer{{
						Name: "rtclab", Image: p.Image, Command: []string{"rtclab"}, Args: args,
						Resources:    k8sResources{Requests: map[string]string{"cpu": p.CPU, "memory": p.Memory}},
						VolumeMounts: []k8sMount{{Name: "results", MountPath: p.Results}},
					}},
					Volumes: []k8sVolume{{Name: "results", PersistentVolumeClaim: k8sPVCRef{ClaimName: p.PVC}}},
				},
			},
		},
	}
	var b bytes.Buffer
	quoted := make([]string, len(p.Args))
	for i, a := range p.Args {
		quoted[i] = shellQuote(a)
	}
	fmt.Fprintf(&b, "# %d shards of: rtclab %s\n# When complete: rtclab merge %s/shard-* --out %s/merged\n",
		p.Shards, strings.Join(quoted, " "), strings.TrimSuffix(p.Results, "/"), strings.TrimSuffix(p.Results, "/"))
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(job); err != nil {
		return nil, fmt.Errorf("job manifest: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("job manifest: %w", err)
	}
	return b.Bytes(), nil
}

// shellQuote writes an argument so that a shell reads it back as is.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=,+@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
