#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The jobs of an audit take work items (layers) from one list; a job that finds the list empty
/// does not stop but lends its core to the tiled work (`perform`, e.g. `TiledGram`) of the jobs
/// still busy, until none is. This is what lets the second core help with the last (or only)
/// large layer. What a tile computes never depends on which thread runs it, so results are the
/// same whatever the number of jobs.
///
/// With fewer items than jobs (a lone large layer), the cores no job uses are lent as threads
/// started for the task (`perform`) and joined before it returns.
///
/// No waiting thread ever waits for a thread that has not started: a job waits only while some
/// job is inside an item (it will finish and either take the next item or wake the waiters), so
/// running the jobs with `DispatchQueue.concurrentPerform`, whose iterations may run one after
/// another, cannot deadlock.
public final class CoreSharing: @unchecked Sendable {
    private final class Task {
        let count: Int
        var next = 0
        var done = 0
        let run: @Sendable (Int) -> Void
        init(count: Int, run: @escaping @Sendable (Int) -> Void) { self.count = count; self.run = run }
    }

    // Heap-allocated: `&storedProperty` is not a stable address for a C mutex.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let items: Int
    /// Cores no job uses (`jobs − min(jobs, items)`): lent to tasks as extra threads.
    private let spare: Int
    private var nextItem = 0
    private var busy = 0
    /// Jobs that found no item left (waiting for, or running, tiles).
    private var retired = 0
    private var tasks: [Task] = []

    /// For `items` work items (indices `0 ..< items`) taken by `jobs` jobs; the caller runs
    /// `work` on `jobsRunning(jobs)` threads.
    public init(items: Int, jobs: Int) {
        self.items = items
        self.spare = Swift.max(0, jobs - Swift.max(1, Swift.min(jobs, items)))
        mutex.initialize(to: pthread_mutex_t())
        changed.initialize(to: pthread_cond_t())
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(changed, nil)
    }

    /// How many threads should run `work`: one per job, but no more than there are items.
    public static func jobsRunning(_ jobs: Int, items: Int) -> Int { Swift.max(1, Swift.min(jobs, items)) }

    deinit {
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(mutex)
        changed.deallocate()
        mutex.deallocate()
    }

    /// One job: runs `body` on items until none is left, then helps with posted tiles until no
    /// job is inside an item any more.
    public func work(_ body: (Int) -> Void) {
        pthread_mutex_lock(mutex)
        var isRetired = false
        while true {
            if nextItem < items {
                let k = nextItem
                nextItem += 1
                busy += 1
                pthread_mutex_unlock(mutex)
                body(k)
                pthread_mutex_lock(mutex)
                busy -= 1
                if busy == 0 { pthread_cond_broadcast(changed) }
                continue
            }
            if !isRetired { isRetired = true; retired += 1 }
            if runOneTile() { continue }
            if busy == 0 { break }
            pthread_cond_wait(changed, mutex)
        }
        if isRetired { retired -= 1 }
        pthread_mutex_unlock(mutex)
    }

    /// Cores that would run tiles of a task posted now: jobs with no item left, and cores no job
    /// uses. A hint for how finely to split work (the results never depend on it).
    public func idleCores() -> Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return spare + retired
    }

    /// Runs `body(0 ..< count)` on the calling thread and on every job that has run out of items;
    /// returns when all are done. Each index runs exactly once.
    func perform(count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let task = Task(count: count, run: body)
        pthread_mutex_lock(mutex)
        tasks.append(task)
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
        // Cores that no job uses: threads of their own for this task, joined below.
        var lent: [pthread_t] = []
        for _ in 0..<Swift.min(spare, count - 1) {
            let context = Unmanaged.passRetained(Lender(sharing: self, task: task)).toOpaque()
            var thread = pthread_t()
            if pthread_create(&thread, nil, { raw in
                Unmanaged<Lender>.fromOpaque(raw!).takeRetainedValue().run()
                return nil
            }, context) == 0 {
                lent.append(thread)
            } else {
                Unmanaged<Lender>.fromOpaque(context).release()  // no thread: the caller does the work
            }
        }
        pthread_mutex_lock(mutex)
        while task.next < task.count {
            let n = task.next
            task.next += 1
            pthread_mutex_unlock(mutex)
            body(n)
            pthread_mutex_lock(mutex)
            task.done += 1
        }
        tasks.removeAll { $0 === task }
        while task.done < task.count { pthread_cond_wait(changed, mutex) }
        pthread_mutex_unlock(mutex)
        for thread in lent { pthread_join(thread, nil) }
    }

    /// A lent thread: runs tiles of its task until none is left.
    private final class Lender {
        let sharing: CoreSharing
        let task: Task
        init(sharing: CoreSharing, task: Task) { self.sharing = sharing; self.task = task }
        func run() {
            pthread_mutex_lock(sharing.mutex)
            while task.next < task.count {
                let n = task.next
                task.next += 1
                pthread_mutex_unlock(sharing.mutex)
                task.run(n)
                pthread_mutex_lock(sharing.mutex)
                task.done += 1
                if task.done == task.count { pthread_cond_broadcast(sharing.changed) }
            }
            pthread_mutex_unlock(sharing.mutex)
        }
    }

    /// With the mutex held: runs one pending tile of a posted task (releasing the mutex while it
    /// runs); false when there is none.
    private func runOneTile() -> Bool {
        guard let task = tasks.first(where: { $0.next < $0.count }) else { return false }
        let n = task.next
        task.next += 1
        pthread_mutex_unlock(mutex)
        task.run(n)
        pthread_mutex_lock(mutex)
        task.done += 1
        if task.done == task.count { pthread_cond_broadcast(changed) }
        return true
    }
}
