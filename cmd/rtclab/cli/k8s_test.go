package cli

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// The manifest decodes strictly (no unknown or misspelt field) into the
// Kubernetes API types of k8s.io/api, and is an Indexed Job whose pods
// each run their shard into the shared claim.
func TestK8sJobManifest(t *testing.T) {
	env, out, errb := testEnv(t)
	code := Main([]string{"k8s", "job", "--image", "registry.example/rtclab:v1", "--shards", "4", "--parallelism", "2",
		"--pvc", "lab-results", "--", "sweep", "quickstart", "--vary", "participants.bob.downlink.loss=0%..10%/1%", "--vary", "seed=1..5"}, env)
	if code != ExitPass {
		t.Fatalf("exit %d: %s", code, errb)
	}
	var job batchv1.Job
	if err := yaml.UnmarshalStrict(out.Bytes(), &job); err != nil {
		t.Fatalf("not a strict batch/v1 Job: %v\n%s", err, out)
	}
	s := job.Spec
	if job.APIVersion != "batch/v1" || job.Kind != "Job" || job.Name != "rtclab-sweep" {
		t.Errorf("apiVersion %q kind %q name %q", job.APIVersion, job.Kind, job.Name)
	}
	if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("completionMode %v, want Indexed", s.CompletionMode)
	}
	if s.Completions == nil || *s.Completions != 4 || s.Parallelism == nil || *s.Parallelism != 2 {
		t.Errorf("completions %v parallelism %v, want 4 and 2", s.Completions, s.Parallelism)
	}
	pod := s.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever && pod.RestartPolicy != corev1.RestartPolicyOnFailure {
		t.Errorf("restartPolicy %q: a Job allows Never or OnFailure", pod.RestartPolicy)
	}
	if len(pod.Containers) != 1 || len(pod.Volumes) != 1 {
		t.Fatalf("%d containers, %d volumes", len(pod.Containers), len(pod.Volumes))
	}
	c := pod.Containers[0]
	args := strings.Join(c.Args, " ")
	for _, want := range []string{
		"sweep quickstart --vary participants.bob.downlink.loss=0%..10%/1% --vary seed=1..5",
		"--shard $(JOB_COMPLETION_INDEX)/4",
		"--out /results/shard-$(JOB_COMPLETION_INDEX)",
	} {
		if !strings.Contains(args, want) {
			t.Errorf("args %q lack %q", args, want)
		}
	}
	if c.Image != "registry.example/rtclab:v1" || strings.Join(c.Command, " ") != "rtclab" {
		t.Errorf("image %q command %v", c.Image, c.Command)
	}
	v := pod.Volumes[0]
	if v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "lab-results" {
		t.Errorf("volume %+v, want the claim lab-results", v)
	}
	if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].Name != v.Name || c.VolumeMounts[0].MountPath != "/results" {
		t.Errorf("mounts %+v", c.VolumeMounts)
	}
	if c.Resources.Requests.Cpu().String() != "1" {
		t.Errorf("cpu request %v", c.Resources.Requests.Cpu())
	}
	if !strings.Contains(out.String(), "# 4 shards of: rtclab sweep quickstart --vary 'participants.bob.downlink.loss=0%..10%/1%' --vary seed=1..5\n") {
		t.Errorf("the comment does not quote the command for a shell:\n%s", out)
	}
	// The decoder is strict: a misspelt field would have failed above.
	if err := yaml.UnmarshalStrict([]byte(strings.Replace(out.String(), "completionMode", "completionMod", 1)), &batchv1.Job{}); err == nil {
		t.Error("a misspelt field decoded: the check cannot fail")
	}
}

func TestK8sJobUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--shards", "2", "--", "sweep"}, "--image is required"},
		{[]string{"--image", "i", "--", "sweep"}, "--shards 0"},
		{[]string{"--image", "i", "--shards", "2", "--", "serve"}, "after --, the rtclab command"},
		{[]string{"--image", "i", "--shards", "2", "--", "sweep", "--out", "/x"}, "--out: the Job sets it"},
		{[]string{"--image", "i", "--shards", "2", "--", "sweep", "--shard=0/2"}, "--shard: the Job sets it"},
		{[]string{"--image", "i", "--shards", "2", "--parallelism", "3", "--", "run"}, "--parallelism 3"},
		{[]string{"--image", "i", "--shards", "2", "--name", "Bad_Name", "--", "run"}, `--name "Bad_Name"`},
	} {
		env, out, errb := testEnv(t)
		if code := Main(append([]string{"k8s", "job"}, tc.args...), env); code != ExitUsage || !strings.Contains(errb.String(), tc.want) || out.Len() > 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 naming %q", tc.args, code, errb, tc.want)
		}
	}
}
