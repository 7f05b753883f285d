// This machine's architecture as Go names it (GOARCH), which `docker version` shows in OS/Arch. Node
// descriptions and `docker info` use `uname -m` instead (os.machine()).

export function goArch(): string {
  switch (process.arch) {
    case 'x64':
      return 'amd64';
    case 'ia32':
      return '386';
    default:
      return process.arch;
  }
}
