export { StatsSampler, readCgroupStats, systemCpuUsage, networkStats, emptyCpuStats } from './cgroup.js';
export type { StatsJSON, CpuStats, BlkioEntry, NetworkStats, SamplerOptions, Sample } from './cgroup.js';
