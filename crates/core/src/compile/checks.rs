//! What the syntax tree says about a script before it runs: constructs that
//! are refused (module syntax, `import()`, `require(...)`) and the tool
//! paths it references (`tools.x.y` member chains).

use oxc::ast::ast::{
    CallExpression, Expression, ImportExpression, ImportMeta, MemberExpression, ModuleDeclaration,
    TSImportEqualsDeclaration,
};
use oxc::ast_visit::{Visit, walk};
use oxc::span::{GetSpan, Span};

#[derive(Debug, Default)]
pub struct Findings {
    /// What was refused and where (byte offset into the source).
    pub banned: Vec<(String, u32)>,
    pub tools: Vec<String>,
}

impl Findings {
    fn ban(&mut self, what: &str, span: Span) {
        self.banned.push((what.to_owned(), span.start));
    }
}

/// The dotted path of a `tools.a.b` chain, if `expr` is one.
fn tool_path(expr: &MemberExpression<'_>) -> Option<String> {
    let mut names = Vec::new();
    let mut current = expr;
    loop {
        match current {
            MemberExpression::StaticMemberExpression(m) => names.push(m.property.name.to_string()),
            MemberExpression::ComputedMemberExpression(m) => match &m.expression {
                Expression::StringLiteral(s) => names.push(s.value.to_string()),
                _ => return None,
            },
            MemberExpression::PrivateFieldExpression(_) => return None,
        }
        match current.object() {
            Expression::Identifier(id) if id.name == "tools" => break,
            Expression::StaticMemberExpression(_) | Expression::ComputedMemberExpression(_) => {
                current = current.object().as_member_expression()?;
            }
            _ => return None,
        }
    }
    names.reverse();
    Some(names.join("."))
}

impl<'a> Visit<'a> for Findings {
    fn visit_module_declaration(&mut self, it: &ModuleDeclaration<'a>) {
        let what = match it {
            ModuleDeclaration::ImportDeclaration(_) => "a static `import` declaration",
            ModuleDeclaration::TSExportAssignment(_) => "an `export =` assignment",
            _ => "an `export` declaration",
        };
        self.ban(what, it.span());
        walk::walk_module_declaration(self, it);
    }

    fn visit_ts_import_equals_declaration(&mut self, it: &TSImportEqualsDeclaration<'a>) {
        self.ban("an `import x = require(...)` declaration", it.span);
    }

    fn visit_import_expression(&mut self, it: &ImportExpression<'a>) {
        self.ban("a dynamic `import()`", it.span);
        walk::walk_import_expression(self, it);
    }

    fn visit_import_meta(&mut self, it: &ImportMeta) {
        self.ban("`import.meta`", it.span);
    }

    fn visit_call_expression(&mut self, it: &CallExpression<'a>) {
        if let Expression::Identifier(id) = &it.callee
            && id.name == "require"
        {
            self.ban("a call to `require(...)`", it.span);
        }
        walk::walk_call_expression(self, it);
    }

    fn visit_member_expression(&mut self, it: &MemberExpression<'a>) {
        if let Some(path) = tool_path(it) {
            if !self.tools.contains(&path) {
                self.tools.push(path);
            }
            // The chain's prefixes are not references of their own.
            if let MemberExpression::ComputedMemberExpression(m) = it {
                self.visit_expression(&m.expression);
            }
            return;
        }
        walk::walk_member_expression(self, it);
    }
}
