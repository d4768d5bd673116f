//! What the project's own QuickJS patches add (patches/rquickjs-sys-0.14.0/):
//! rquickjs-sys's pre-generated bindings do not declare it, so it is
//! declared here, against the patched library cargo links.

use std::ffi::{c_int, c_void};

use rquickjs::{Value, qjs};

type StackOverflowHandler = unsafe extern "C" fn(*mut qjs::JSRuntime, *mut c_void) -> c_int;

unsafe extern "C" {
    /// Patch 0002: `handler` runs when the stack limit is hit; non-zero
    /// makes the RangeError uncatchable. The interrupt handler, which sees
    /// the overflow recorded, ends the script at its next poll.
    fn JS_SetStackOverflowHandler(
        rt: *mut qjs::JSRuntime,
        handler: Option<StackOverflowHandler>,
        opaque: *mut c_void,
    );
    /// Patch 0008: the next interrupt poll of `ctx` calls the handler.
    /// Callable from another thread while `ctx` runs, never after it is freed.
    fn JS_RequestInterrupt(ctx: *mut qjs::JSContext);
}

/// A realm's raw context, as the watchdog's thread may hold it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InterruptTarget(std::ptr::NonNull<qjs::JSContext>);

// SAFETY: the pointer is only ever passed to `JS_RequestInterrupt`, which
// is made to be called from another thread; `Watch` guarantees the context
// is alive when it is (see `Watch::request_interrupt`).
unsafe impl Send for InterruptTarget {}

impl InterruptTarget {
    pub(crate) fn new(ctx: std::ptr::NonNull<qjs::JSContext>) -> InterruptTarget {
        InterruptTarget(ctx)
    }

    /// Make the context's next interrupt poll call the handler.
    ///
    /// # Safety
    /// The context must not have been freed, nor be freed during the call.
    pub(crate) unsafe fn request(self) {
        // SAFETY: the caller keeps the context alive; the function only
        // stores to its poll counter.
        unsafe { JS_RequestInterrupt(self.0.as_ptr()) }
    }
}

/// What a realm does when its stack limit is hit: true ends the script.
pub(super) type OnOverflow = Box<dyn Fn() -> bool>;

unsafe extern "C" fn on_stack_overflow(_: *mut qjs::JSRuntime, opaque: *mut c_void) -> c_int {
    // SAFETY: `opaque` is the `OnOverflow` that `set_stack_overflow_handler`
    // was given, which its realm keeps alive as long as the runtime.
    let on_overflow = unsafe { &*opaque.cast::<OnOverflow>() };
    c_int::from(on_overflow())
}

/// Call `on_overflow` whenever `rt` hits its stack limit. `on_overflow`
/// must outlive the runtime (the realm drops it after the runtime).
pub(super) fn set_stack_overflow_handler(rt: *mut qjs::JSRuntime, on_overflow: &OnOverflow) {
    let opaque = std::ptr::from_ref(on_overflow).cast_mut().cast::<c_void>();
    // SAFETY: `rt` is a live runtime used on this thread only, and the
    // handler's state outlives it (see above).
    unsafe { JS_SetStackOverflowHandler(rt, Some(on_stack_overflow), opaque) }
}

/// Whether `value` is an error QuickJS lets no catch block see: the
/// interrupt's, or a stack overflow's that the handler made so.
pub(crate) fn is_uncatchable(value: &Value<'_>) -> bool {
    // SAFETY: reads the class and a flag of a live value; no ownership moves.
    unsafe { qjs::JS_IsUncatchableError(value.as_raw()) }
}
