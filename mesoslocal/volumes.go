package mesoslocal

import (
	"fmt"
	"os"
	"path/filepath"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// Persistent volumes on an agent: directories under the work directory by
// role and persistence id, linked into sandboxes.

// syncVolumesLocked makes the volume directories match the checkpointed
// resources: new volumes get a directory, destroyed ones lose theirs.
func (a *agent) syncVolumesLocked() {
	want := map[string]bool{}
	for i := range a.total {
		r := &a.total[i]
		if !r.IsPersistentVolume() {
			continue
		}
		dir := filepath.Join(a.workDir, "volumes", "roles", volumeDirName(reservationRole(r), r.Disk.Persistence.ID))
		want[dir] = true
		if err := os.MkdirAll(dir, 0o755); err != nil {
			a.log.Error("create volume", "dir", dir, "error", err)
		}
	}
	roles, _ := os.ReadDir(filepath.Join(a.workDir, "volumes", "roles"))
	for _, role := range roles {
		rdir := filepath.Join(a.workDir, "volumes", "roles", role.Name())
		ids, _ := os.ReadDir(rdir)
		for _, id := range ids {
			dir := filepath.Join(rdir, id.Name())
			if !want[dir] {
				if err := os.RemoveAll(dir); err != nil {
					a.log.Error("destroy volume", "dir", dir, "error", err)
				}
			}
		}
	}
}

// volumePath is where a volume's data lives on this agent.
func (a *agent) volumePath(r *mesos.Resource) string {
	return filepath.Join(a.workDir, "volumes", "roles", volumeDirName(reservationRole(r), r.Disk.Persistence.ID))
}

// linkVolumesLocked makes <sandbox>/<container_path> a symlink to each
// persistent volume the task uses.
func (a *agent) linkVolumesLocked(e *executorRun, ti mesos.TaskInfo) error {
	for _, fr := range ti.Resources {
		r := toInternal(fr)
		if !r.IsPersistentVolume() || r.Disk.Volume == nil {
			continue
		}
		src := a.volumePath(&r)
		if err := os.MkdirAll(src, 0o755); err != nil {
			return fmt.Errorf("volume dir: %w", err)
		}
		dst := filepath.Join(e.sandbox, r.Disk.Volume.ContainerPath)
		if cur, err := os.Readlink(dst); err == nil && cur == src {
			continue
		}
		_ = os.Remove(dst)
		if err := os.Symlink(src, dst); err != nil {
			return fmt.Errorf("volume symlink: %w", err)
		}
	}
	return nil
}
