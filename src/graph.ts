/**
 * The walk shared by everything whose hash covers the hashes of what it references (stylesheets
 * today; ES modules next): find the references, resolve them, and visit the graph so that every
 * strongly connected component is finished after everything it references. Nothing here knows CSS.
 */

/** What {@link walkComponents} asks of the graph being walked. */
export interface DependencyGraph<N> {
  /** The keys a node references (resolved already: canonical paths). */
  edges(node: N): readonly string[];
  /**
   * The node behind a key not seen yet in this walk, to explore; undefined when there is nothing to
   * explore behind it (its result is known already, or it cannot be loaded: the caller records why).
   * Called at most once per key per walk.
   */
  load(key: string): N | undefined;
  /**
   * Called once per strongly connected component, each after every component it references.
   * `cyclic`: more than one member, or one that references itself.
   */
  component(members: readonly N[], cyclic: boolean): void;
}

interface Visit<N> {
  node: N;
  key: string;
  index: number;
  lowlink: number;
  onStack: boolean;
}

/**
 * Tarjan's strongly connected components from `root` (known by `rootKey`), iterative so a long chain
 * of references cannot overflow the stack. Tarjan emits components in reverse topological order,
 * which is the order their hashes can be computed in.
 *
 * @example
 * walkComponents('a', a, { edges: (n) => n.refs, load: (key) => nodes.get(key), component: (members, cyclic) => hash(members, cyclic) });
 */
export function walkComponents<N>(rootKey: string, root: N, graph: DependencyGraph<N>): void {
  // Every key met in this walk: its visit, or null when load() gave nothing to explore.
  const seen = new Map<string, Visit<N> | null>();
  const stack: Array<Visit<N>> = [];
  let counter = 0;
  const enter = (key: string, node: N): Visit<N> => {
    const visit: Visit<N> = { node, key, index: counter, lowlink: counter, onStack: true };
    counter++;
    seen.set(key, visit);
    stack.push(visit);
    return visit;
  };
  const frames: Array<{ visit: Visit<N>; edges: readonly string[]; next: number }> = [
    { visit: enter(rootKey, root), edges: graph.edges(root), next: 0 },
  ];
  while (frames.length > 0) {
    const frame = frames[frames.length - 1]!;
    const { visit } = frame;
    if (frame.next < frame.edges.length) {
      const key = frame.edges[frame.next++]!;
      let target = seen.get(key);
      if (target === undefined) {
        const node = graph.load(key);
        if (node === undefined) {
          seen.set(key, null);
          continue;
        }
        target = enter(key, node);
        frames.push({ visit: target, edges: graph.edges(node), next: 0 });
        continue;
      }
      if (target !== null && target.onStack) visit.lowlink = Math.min(visit.lowlink, target.index);
      continue;
    }
    frames.pop();
    const parent = frames[frames.length - 1];
    if (parent !== undefined) parent.visit.lowlink = Math.min(parent.visit.lowlink, visit.lowlink);
    if (visit.lowlink !== visit.index) continue;
    const members: N[] = [];
    let member: Visit<N>;
    do {
      member = stack.pop()!;
      member.onStack = false;
      members.push(member.node);
    } while (member !== visit);
    graph.component(members, members.length > 1 || frame.edges.includes(visit.key));
  }
}
